"""A stand-in broker for controller benchmarks: it registers
/brokers/ids/<id> in ZooKeeper as a Kafka broker would, accepts the
controller's connection, answers LeaderAndIsr, UpdateMetadata and
StopReplica with "no error", and records when each request arrived, with
its controller epoch and the partitions it names.  It stores no data, so a
controller can be driven with 100,000 partitions on a small machine: the
brokers it tells are these sinks, and what is measured is the controller.

Each connection has a reader thread that timestamps whole frames; a
parser thread decodes them afterwards, so decoding never delays a
timestamp."""
import json
import queue
import socket
import struct
import threading
import time

LEADER_AND_ISR, STOP_REPLICA, UPDATE_METADATA, API_VERSIONS = 4, 5, 6, 18
# (api key) -> first flexible version
FLEXIBLE = {LEADER_AND_ISR: 4, STOP_REPLICA: 2, UPDATE_METADATA: 6, API_VERSIONS: 3}


class Reader:
    """Kafka's primitive types over a bytes object."""

    def __init__(self, data, pos=0):
        self.d, self.p = data, pos

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)
        self.p += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def uvarint(self):
        shift = value = 0
        while True:
            b = self.d[self.p]
            self.p += 1
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def skip(self, n):
        self.p += n

    def string(self, flexible):
        n = self.uvarint() - 1 if flexible else self.take(">h")
        s = self.d[self.p:self.p + max(n, 0)]
        self.p += max(n, 0)
        return s

    def array_len(self, flexible):
        return self.uvarint() - 1 if flexible else self.take(">i")

    def int32_array(self, flexible):
        n = self.array_len(flexible)
        self.p += 4 * max(n, 0)

    def tags(self, flexible):
        if not flexible:
            return
        for _ in range(self.uvarint()):
            self.uvarint()
            self.p += self.uvarint()


def count_leader_and_isr(r, v, flex):
    """(controller epoch, partitions) of a LeaderAndIsr body, v2+."""
    r.skip(4)                                   # controller id
    if v >= 7:
        r.skip(1)                               # isKRaftController
    epoch = r.take(">i")
    r.skip(8)                                   # broker epoch
    if v >= 5:
        r.skip(1)                               # type
    parts = 0
    for _ in range(r.array_len(flex)):
        r.string(flex)
        if v >= 5:
            r.skip(16)                          # topic id
        for _ in range(r.array_len(flex)):
            r.skip(16)                          # index, controller epoch, leader, leader epoch
            r.int32_array(flex)                 # isr
            r.skip(4)                           # partition epoch
            r.int32_array(flex)                 # replicas
            if v >= 3:
                r.int32_array(flex)             # adding
                r.int32_array(flex)             # removing
            r.skip(1)                           # is new
            if v >= 6:
                r.skip(1)                       # leader recovery state
            r.tags(flex)
            parts += 1
        r.tags(flex)
    return epoch, parts


def count_update_metadata(r, v, flex):
    """(controller epoch, partitions) of an UpdateMetadata body, v5+."""
    r.skip(4)                                   # controller id
    if v >= 8:
        r.skip(1)                               # isKRaftController (Type is tagged)
    epoch = r.take(">i")
    r.skip(8)                                   # broker epoch
    parts = 0
    for _ in range(r.array_len(flex)):
        r.string(flex)
        if v >= 7:
            r.skip(16)
        for _ in range(r.array_len(flex)):
            r.skip(16)                          # index, controller epoch, leader, leader epoch
            r.int32_array(flex)                 # isr
            r.skip(4)                           # zk version
            r.int32_array(flex)                 # replicas
            r.int32_array(flex)                 # offline replicas (v4+)
            r.tags(flex)
            parts += 1
        r.tags(flex)
    return epoch, parts


def response_body(api_key, version):
    flex = version >= FLEXIBLE.get(api_key, 99)
    empty_array = b"\x01" if flex else b"\x00\x00\x00\x00"
    tags = b"\x00" if flex else b""
    if api_key == API_VERSIONS:
        keys = [(LEADER_AND_ISR, 0, 7), (STOP_REPLICA, 0, 4), (UPDATE_METADATA, 0, 8),
                (API_VERSIONS, 0, 3)]
        if flex:
            body = b"\x00\x00" + bytes([len(keys) + 1])
            body += b"".join(struct.pack(">hhh", *k) + b"\x00" for k in keys)
            return body + b"\x00\x00\x00\x00" + b"\x00"
        body = b"\x00\x00" + struct.pack(">i", len(keys))
        body += b"".join(struct.pack(">hhh", *k) for k in keys)
        return body + (b"\x00\x00\x00\x00" if version >= 1 else b"")
    if api_key in (LEADER_AND_ISR, STOP_REPLICA):
        return b"\x00\x00" + empty_array + tags
    return b"\x00\x00" + tags                   # UpdateMetadata


class SinkBroker:
    def __init__(self, zkc, chroot, broker_id):
        self.zkc, self.chroot, self.id = zkc, chroot, broker_id
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.frames = queue.Queue()
        self.requests = []          # (arrived, api key, controller epoch, partitions)
        self.lock = threading.Lock()
        self.closing = False
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._parse, daemon=True).start()

    def register(self):
        ts = str(int(time.time() * 1000))
        ep = f"PLAINTEXT://127.0.0.1:{self.port}"
        data = {"features": {}, "listener_security_protocol_map": {"PLAINTEXT": "PLAINTEXT"},
                "endpoints": [ep], "jmx_port": -1, "port": self.port, "host": "127.0.0.1",
                "version": 5, "timestamp": ts}
        self.zkc.create(f"{self.chroot}/brokers/ids/{self.id}", json.dumps(data).encode(),
                        ephemeral=True, makepath=True)

    def close(self):
        self.closing = True
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass

    def _accept(self):
        while not self.closing:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _recv(self, c, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = c.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                raise EOFError
            buf += chunk
        return bytes(buf)

    def _serve(self, c):
        try:
            while True:
                size = struct.unpack(">i", self._recv(c, 4))[0]
                frame = self._recv(c, size)
                arrived = time.time()
                api_key, version, corr = struct.unpack_from(">hhi", frame)
                self.frames.put((arrived, api_key, version, frame))
                header = struct.pack(">i", corr)
                if api_key != API_VERSIONS and version >= FLEXIBLE.get(api_key, 99):
                    header += b"\x00"
                resp = header + response_body(api_key, version)
                c.sendall(struct.pack(">i", len(resp)) + resp)
        except (EOFError, OSError):
            pass

    def _parse(self):
        while True:
            arrived, api_key, version, frame = self.frames.get()
            if api_key not in (LEADER_AND_ISR, UPDATE_METADATA):
                continue
            flex = version >= FLEXIBLE[api_key]
            r = Reader(frame, 8)
            r.string(False)                     # client id (nullable string, int16)
            r.tags(flex)
            if api_key == LEADER_AND_ISR:
                epoch, parts = count_leader_and_isr(r, version, flex)
            else:
                epoch, parts = count_update_metadata(r, version, flex)
            with self.lock:
                self.requests.append((arrived, api_key, epoch, parts))

    def covered_at(self, api_key, epoch, partitions):
        """When requests of api_key from controller epoch `epoch` had named
        `partitions` partitions in all (None if not yet), and the count."""
        total = 0
        with self.lock:
            for arrived, key, e, n in sorted(self.requests):
                if key == api_key and e == epoch:
                    total += n
                    if total >= partitions:
                        return arrived, total
        return None, total
