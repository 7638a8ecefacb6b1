"""Hand-encoded Kafka requests for tests that must send exactly the bytes
they mean (malformed input, specific versions).  Record batches come from
kafka-python's own encoder, an implementation independent of samsa's."""
import io
import socket
import struct
import time

from kafka.record.default_records import DefaultRecordBatchBuilder


def kstr(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def frame(api_key, version, corr, body, client_id="samsa-test"):
    payload = struct.pack(">hhi", api_key, version, corr) + kstr(client_id) + body
    return struct.pack(">i", len(payload)) + payload


def batch(n=3, compression=0, value=b"value", timestamp=1700000000000):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=compression, is_transactional=False,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                  batch_size=1 << 20)
    for i in range(n):
        b.append(i, timestamp=timestamp + i, key=b"k%d" % i, value=value, headers=[])
    return bytes(b.build())


def produce_v3(topic, partition, records, acks=1):
    body = kstr(None) + struct.pack(">hi", acks, 30000) + struct.pack(">i", 1) + kstr(topic)
    body += struct.pack(">i", 1) + struct.pack(">i", partition)
    body += struct.pack(">i", len(records)) + records
    return body


def parse_produce_v3_response(body):
    """Returns [(topic, partition, error, base_offset)] of a Produce v3 response."""
    pos = 0
    (nt,) = struct.unpack_from(">i", body, pos)
    pos += 4
    out = []
    for _ in range(nt):
        (tl,) = struct.unpack_from(">h", body, pos)
        pos += 2
        topic = body[pos:pos + tl].decode()
        pos += tl
        (np_,) = struct.unpack_from(">i", body, pos)
        pos += 4
        for _ in range(np_):
            part, err, base, _lat = struct.unpack_from(">ihqq", body, pos)
            pos += 22
            out.append((topic, part, err, base))
    return out


def metadata_v4(topics, allow_auto_create):
    body = struct.pack(">i", len(topics)) + b"".join(kstr(t) for t in topics)
    return body + struct.pack(">b", 1 if allow_auto_create else 0)


def parse_metadata_v4_topic_errors(body):
    """Returns {topic: error_code} of a Metadata v4 response."""
    pos = 4  # throttle
    (nb,) = struct.unpack_from(">i", body, pos)
    pos += 4
    for _ in range(nb):
        pos += 4
        (hl,) = struct.unpack_from(">h", body, pos)
        pos += 2 + hl + 4
        (rl,) = struct.unpack_from(">h", body, pos)
        pos += 2 + (rl if rl > 0 else 0)
    (cl,) = struct.unpack_from(">h", body, pos)
    pos += 2 + (cl if cl > 0 else 0) + 4
    (nt,) = struct.unpack_from(">i", body, pos)
    pos += 4
    out = {}
    for _ in range(nt):
        (err,) = struct.unpack_from(">h", body, pos)
        pos += 2
        (tl,) = struct.unpack_from(">h", body, pos)
        name = body[pos + 2:pos + 2 + tl].decode()
        pos += 2 + tl + 1
        out[name] = err
        (np_,) = struct.unpack_from(">i", body, pos)
        pos += 4
        for _ in range(np_):
            pos += 2 + 4 + 4
            for _arr in range(3 if True else 0):
                (n,) = struct.unpack_from(">i", body, pos)
                pos += 4 + 4 * max(n, 0)
    return out


def create_topics_v0(name, partitions, rf=1, configs=None):
    body = struct.pack(">i", 1) + kstr(name) + struct.pack(">ih", partitions, rf)
    body += struct.pack(">i", 0)
    configs = configs or {}
    body += struct.pack(">i", len(configs))
    for k, v in configs.items():
        body += kstr(k) + kstr(v)
    return body + struct.pack(">i", 30000)


def parse_create_topics_v0(body):
    (n,) = struct.unpack_from(">i", body, 0)
    pos, out = 4, {}
    for _ in range(n):
        (tl,) = struct.unpack_from(">h", body, pos)
        name = body[pos + 2:pos + 2 + tl].decode()
        pos += 2 + tl
        (err,) = struct.unpack_from(">h", body, pos)
        pos += 2
        out[name] = err
    return out


def fetch_v4(topic, partition, offset, max_wait_ms, min_bytes, max_bytes=1 << 20):
    body = struct.pack(">iiiib", -1, max_wait_ms, min_bytes, max_bytes, 0)
    body += struct.pack(">i", 1) + kstr(topic) + struct.pack(">i", 1)
    body += struct.pack(">iqi", partition, offset, max_bytes)
    return body


def parse_fetch_v4_records_len(body):
    """Returns (error, high_watermark, records_bytes) of the first partition."""
    pos = 4 + 4  # throttle, topics count
    (tl,) = struct.unpack_from(">h", body, pos)
    pos += 2 + tl + 4
    part, err, hw, lso = struct.unpack_from(">ihqq", body, pos)
    pos += 22
    (na,) = struct.unpack_from(">i", body, pos)
    pos += 4 + 16 * max(na, 0)
    (rl,) = struct.unpack_from(">i", body, pos)
    return err, hw, body[pos + 4:pos + 4 + max(rl, 0)]


def flexible_body(resp):
    """A flexible response (after its correlation id) without its header's
    tagged fields, of which there are none."""
    assert resp[0] == 0, "tagged fields in a response header"
    return resp[1:]


class Conn:
    """A blocking connection that reads whole responses."""

    def __init__(self, port, client_id="samsa-test"):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.corr = 0
        self.client_id = client_id

    def send_raw(self, data):
        self.s.sendall(data)

    def request(self, api_key, version, body, header_v0_response=True):
        self.corr += 1
        self.s.sendall(frame(api_key, version, self.corr, body, self.client_id))
        return self.read_response(self.corr)

    def read_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed by broker")
            buf += chunk
        return buf

    def read_response(self, corr):
        (size,) = struct.unpack(">i", self.read_exact(4))
        data = self.read_exact(size)
        (got,) = struct.unpack_from(">i", data, 0)
        assert got == corr, (got, corr)
        return data[4:]

    def flexible_request(self, api_key, version, body):
        """A flexible request (header v2, no tagged fields); the response
        body after its header."""
        return flexible_body(self.request(api_key, version, b"\x00" + body))

    def closed_by_peer(self, timeout=10):
        self.s.settimeout(timeout)
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def api_versions_v0(conn):
    body = conn.request(18, 0, b"")
    (err, n) = struct.unpack_from(">hi", body, 0)
    keys = {}
    for i in range(n):
        k, lo, hi = struct.unpack_from(">hhh", body, 6 + 6 * i)
        keys[k] = (lo, hi)
    return err, keys


def idempotent_batch(pid, epoch, seq, n=3):
    """n records "k<seq+i>" of an idempotent producer.  Timestamps are now:
    a producer whose last batch is older than producer.id.expiration.ms (a
    day) is forgotten when a log loads."""
    import time
    now = int(time.time() * 1000)
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
                                  producer_id=pid, producer_epoch=epoch, base_sequence=seq,
                                  batch_size=1 << 20)
    for i in range(n):
        b.append(i, timestamp=now + i, key=b"k%d" % (seq + i), value=b"v", headers=[])
    return bytes(b.build())


def init_producer_id(conn, timeout=30):
    """InitProducerId v0 without a transactional id, retried while the
    broker is still loading; returns (producer id, epoch)."""
    import time
    deadline = time.time() + timeout
    while True:
        body = conn.request(22, 0, struct.pack(">hi", -1, 60000))
        _, err, pid, epoch = struct.unpack(">ihqh", body[:16])
        if err == 0:
            return pid, epoch
        assert time.time() < deadline, f"InitProducerId kept failing with {err}"
        time.sleep(0.2)


def produce_idempotent(conn, topic, pid, epoch, seq, timeout=30):
    """Produces the batch at seq (acks=-1) once it can be taken: errors 3
    and 6 are retriable right after a start, and such batches are not
    written.  Returns (error, base offset)."""
    import time
    deadline = time.time() + timeout
    while True:
        r = parse_produce_v3_response(conn.request(0, 3, produce_v3(topic, 0, idempotent_batch(pid, epoch, seq),
                                                                      acks=-1)))[0][2:]
        if r[0] not in (3, 6) or time.time() > deadline:
            return r
        time.sleep(0.2)


# ---- flexible versions (compact strings and arrays, tagged fields) ----

def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def read_uvarint(buf, at):
    n = shift = 0
    while True:
        b = buf[at]
        at += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, at


def compact_str(s):
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


def read_compact_str(buf, at):
    n, at = read_uvarint(buf, at)
    if n == 0:
        return None, at
    return buf[at:at + n - 1].decode(), at + n - 1


def alter_partition_reassignments_v0(conn, topic, parts, timeout_ms=30000):
    """AlterPartitionReassignments v0 for topic's partitions {p: replicas or
    None (cancel)}; returns (error, message, {p: (error, message)})."""
    body = b"\x00" + struct.pack(">i", timeout_ms) + uvarint(2) + compact_str(topic)
    body += uvarint(len(parts) + 1)
    for p, replicas in parts.items():
        body += struct.pack(">i", p)
        if replicas is None:
            body += uvarint(0)
        else:
            body += uvarint(len(replicas) + 1) + b"".join(struct.pack(">i", r) for r in replicas)
        body += b"\x00"
    body += b"\x00\x00"
    resp = conn.request(45, 0, body)
    at = 1                                              # the response header's tags
    _throttle, err = struct.unpack_from(">ih", resp, at)
    msg, at = read_compact_str(resp, at + 6)
    n_topics, at = read_uvarint(resp, at)
    out = {}
    for _ in range(max(n_topics - 1, 0)):
        _name, at = read_compact_str(resp, at)
        n_parts, at = read_uvarint(resp, at)
        for _ in range(max(n_parts - 1, 0)):
            p, perr = struct.unpack_from(">ih", resp, at)
            pmsg, at = read_compact_str(resp, at + 6)
            at += 1
            out[p] = (perr, pmsg)
        at += 1
    return err, msg, out


def call(conn, req, resp_cls=None):
    """Sends one of kafka-python's protocol request objects and decodes
    the answer with its response class."""
    body = conn.request(req.API_KEY, req.API_VERSION, req.encode())
    cls = resp_cls[req.API_VERSION] if resp_cls else req.RESPONSE_TYPE
    return cls.decode(io.BytesIO(body))


def coordinator_conn(port, timeout=30):
    """A connection to a single broker once it coordinates groups (its
    __consumer_offsets exists and is loaded)."""
    from kafka.protocol.find_coordinator import FindCoordinatorRequest
    c = Conn(port)
    deadline = time.time() + timeout
    while True:
        r = call(c, FindCoordinatorRequest[0]("probe"))
        if r.error_code == 0 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert r.error_code == 0
    return c


def describe_configs_v3(conn, resources, synonyms=True, documentation=True):
    """DescribeConfigs v3 (documentation and config types; kafka-python
    stops at v2).  resources: [(type, name)].  Returns
    [(error_code, error_message, {name: entry})], each entry a dict of
    value, read_only, source, sensitive, synonyms [(name, value, source)],
    type and documentation."""
    from kafka.protocol.api import Request, Response
    from kafka.protocol.types import Array, Boolean, Int8, Int16, Int32, Schema, String

    class DescribeConfigsResponse_v3(Response):
        API_KEY = 32
        API_VERSION = 3
        SCHEMA = Schema(
            ('throttle_time_ms', Int32),
            ('resources', Array(
                ('error_code', Int16), ('error_message', String('utf-8')),
                ('resource_type', Int8), ('resource_name', String('utf-8')),
                ('config_entries', Array(
                    ('name', String('utf-8')), ('value', String('utf-8')),
                    ('read_only', Boolean), ('source', Int8), ('sensitive', Boolean),
                    ('synonyms', Array(('name', String('utf-8')), ('value', String('utf-8')),
                                       ('source', Int8))),
                    ('type', Int8), ('documentation', String('utf-8')))))))

    class DescribeConfigsRequest_v3(Request):
        API_KEY = 32
        API_VERSION = 3
        RESPONSE_TYPE = DescribeConfigsResponse_v3
        SCHEMA = Schema(
            ('resources', Array(('resource_type', Int8), ('resource_name', String('utf-8')),
                                ('config_names', Array(String('utf-8'))))),
            ('include_synonyms', Boolean), ('include_documentation', Boolean))

    r = call(conn, DescribeConfigsRequest_v3([(t, n, None) for t, n in resources], synonyms,
                                             documentation))
    out = []
    for err, msg, _, _, entries in r.resources:
        cfg = {}
        for name, value, ro, source, sensitive, syns, typ, doc in entries:
            cfg[name] = {"value": value, "read_only": ro, "source": source, "sensitive": sensitive,
                         "synonyms": [tuple(s) for s in syns], "type": typ,
                         "documentation": doc}
        out.append((err, msg, cfg))
    return out


def incremental_alter_configs_v0(conn, resources, validate_only=False):
    """IncrementalAlterConfigs v0.  resources: [(type, name, [(key, op,
    value)])] (op: 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT).  Returns
    [(error_code, error_message)] per resource.  Raw, because
    confluent-kafka refuses the broker default resource ("")."""
    from kafka.protocol.api import Request, Response
    from kafka.protocol.types import Array, Boolean, Int8, Int16, Int32, Schema, String

    class IncrementalAlterConfigsResponse_v0(Response):
        API_KEY = 44
        API_VERSION = 0
        SCHEMA = Schema(('throttle_time_ms', Int32),
                        ('responses', Array(('error_code', Int16),
                                            ('error_message', String('utf-8')),
                                            ('resource_type', Int8),
                                            ('resource_name', String('utf-8')))))

    class IncrementalAlterConfigsRequest_v0(Request):
        API_KEY = 44
        API_VERSION = 0
        RESPONSE_TYPE = IncrementalAlterConfigsResponse_v0
        SCHEMA = Schema(('resources', Array(('resource_type', Int8),
                                            ('resource_name', String('utf-8')),
                                            ('configs', Array(('name', String('utf-8')),
                                                              ('op', Int8),
                                                              ('value', String('utf-8')))))),
                        ('validate_only', Boolean))

    r = call(conn, IncrementalAlterConfigsRequest_v0(
        [(t, n, [(k, op, v) for k, op, v in ops]) for t, n, ops in resources], validate_only))
    return [(e, m) for e, m, _, _ in r.responses]
