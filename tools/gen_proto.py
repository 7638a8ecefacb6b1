#!/usr/bin/env python3
"""gen_proto.py - generate samsa's Kafka message codecs from Kafka's JSON schemas.

Reads the message schemas in proto/schemas/ (copied unchanged from Apache Kafka)
and writes include/proto_messages.h and src/proto_messages.c (plus the test-only
sample builders, tests/proto_samples.[ch]): one C struct per
message and nested struct, with a defaults initialiser, a decoder and an encoder
that honour every field's versions, nullable versions, flexible versions and
tagged fields.

    tools/gen_proto.py [SCHEMA_DIR] [OUT_DIR]

The list of messages compiled in is MESSAGES below; add a name there and rerun
("make regen-proto") to support another API.
"""
import json
import os
import re
import sys

MESSAGES = [
    "RequestHeader", "ResponseHeader",
    "ApiVersionsRequest", "ApiVersionsResponse",
    "SaslHandshakeRequest", "SaslHandshakeResponse",
    "SaslAuthenticateRequest", "SaslAuthenticateResponse",
    "DescribeUserScramCredentialsRequest", "DescribeUserScramCredentialsResponse",
    "AlterUserScramCredentialsRequest", "AlterUserScramCredentialsResponse",
    "DescribeClientQuotasRequest", "DescribeClientQuotasResponse",
    "AlterClientQuotasRequest", "AlterClientQuotasResponse",
    "MetadataRequest", "MetadataResponse",
    "ProduceRequest", "ProduceResponse",
    "FetchRequest", "FetchResponse",
    "ListOffsetsRequest", "ListOffsetsResponse",
    "CreateTopicsRequest", "CreateTopicsResponse",
    "DeleteTopicsRequest", "DeleteTopicsResponse",
    "DescribeConfigsRequest", "DescribeConfigsResponse",
    "FindCoordinatorRequest", "FindCoordinatorResponse",
    "InitProducerIdRequest", "InitProducerIdResponse",
    "JoinGroupRequest", "JoinGroupResponse",
    "SyncGroupRequest", "SyncGroupResponse",
    "HeartbeatRequest", "HeartbeatResponse",
    "LeaveGroupRequest", "LeaveGroupResponse",
    "OffsetCommitRequest", "OffsetCommitResponse",
    "OffsetFetchRequest", "OffsetFetchResponse",
    "DescribeGroupsRequest", "DescribeGroupsResponse",
    "ListGroupsRequest", "ListGroupsResponse",
    "DeleteGroupsRequest", "DeleteGroupsResponse",
    "OffsetDeleteRequest", "OffsetDeleteResponse",
    # inter-broker (ZooKeeper-mode controller to brokers)
    "LeaderAndIsrRequest", "LeaderAndIsrResponse",
    "UpdateMetadataRequest", "UpdateMetadataResponse",
    "StopReplicaRequest", "StopReplicaResponse",
    "ControlledShutdownRequest", "ControlledShutdownResponse",
    "AlterPartitionRequest", "AlterPartitionResponse",
    "OffsetForLeaderEpochRequest", "OffsetForLeaderEpochResponse",
    "AllocateProducerIdsRequest", "AllocateProducerIdsResponse",
    "ElectLeadersRequest", "ElectLeadersResponse",
    "AlterPartitionReassignmentsRequest", "AlterPartitionReassignmentsResponse",
    "ListPartitionReassignmentsRequest", "ListPartitionReassignmentsResponse",
    "ConsumerProtocolSubscription", "ConsumerProtocolAssignment",
    # administration
    "DeleteRecordsRequest", "DeleteRecordsResponse",
    "DescribeClusterRequest", "DescribeClusterResponse",
    "CreatePartitionsRequest", "CreatePartitionsResponse",
    "DescribeLogDirsRequest", "DescribeLogDirsResponse",
    "AlterReplicaLogDirsRequest", "AlterReplicaLogDirsResponse",
    "AlterConfigsRequest", "AlterConfigsResponse",
    "IncrementalAlterConfigsRequest", "IncrementalAlterConfigsResponse",
    # features Kafka 3.9 advertises in ZooKeeper mode and answers as off
    # (delegation tokens without a secret, the KIP-848 group protocol)
    "CreateDelegationTokenRequest", "CreateDelegationTokenResponse",
    "RenewDelegationTokenRequest", "RenewDelegationTokenResponse",
    "ExpireDelegationTokenRequest", "ExpireDelegationTokenResponse",
    "DescribeDelegationTokenRequest", "DescribeDelegationTokenResponse",
    "ConsumerGroupHeartbeatRequest", "ConsumerGroupHeartbeatResponse",
    "ConsumerGroupDescribeRequest", "ConsumerGroupDescribeResponse",
    # KIP-584 feature versioning as a ZooKeeper-mode controller runs it
    "UpdateFeaturesRequest", "UpdateFeaturesResponse",
    # ACLs (answered SECURITY_DISABLED until an authorizer exists)
    "DescribeAclsRequest", "DescribeAclsResponse",
    "CreateAclsRequest", "CreateAclsResponse",
    "DeleteAclsRequest", "DeleteAclsResponse",
    # __consumer_offsets record formats (proto/storage)
    "OffsetCommitKey", "OffsetCommitValue", "GroupMetadataKey", "GroupMetadataValue",
    # transactions (KIP-98) and their __transaction_state records
    "AddPartitionsToTxnRequest", "AddPartitionsToTxnResponse",
    "AddOffsetsToTxnRequest", "AddOffsetsToTxnResponse",
    "EndTxnRequest", "EndTxnResponse",
    "WriteTxnMarkersRequest", "WriteTxnMarkersResponse",
    "TxnOffsetCommitRequest", "TxnOffsetCommitResponse",
    "DescribeTransactionsRequest", "DescribeTransactionsResponse",
    "ListTransactionsRequest", "ListTransactionsResponse",
    "DescribeProducersRequest", "DescribeProducersResponse",
    "TransactionLogKey", "TransactionLogValue",
]

MAXV = 32767
C_KEYWORDS = {"default", "register", "auto", "int", "char", "long", "short", "union",
              "struct", "switch", "case", "signed", "unsigned", "const", "static",
              "volatile", "extern", "return", "goto", "for", "while", "do", "if", "else"}

PRIM = {
    # kafka type: (C type, reader, writer, size for array bound checks)
    "int8": ("int8_t", "kr_int8(r)", "kw_int8(w, {v})", 1),
    "int16": ("int16_t", "kr_int16(r)", "kw_int16(w, {v})", 2),
    "int32": ("int32_t", "kr_int32(r)", "kw_int32(w, {v})", 4),
    "int64": ("int64_t", "kr_int64(r)", "kw_int64(w, {v})", 8),
    "uint16": ("uint16_t", "kr_uint16(r)", "kw_uint16(w, {v})", 2),
    "uint32": ("uint32_t", "kr_uint32(r)", "kw_uint32(w, {v})", 4),
    "float64": ("double", "kr_float64(r)", "kw_float64(w, {v})", 8),
    "bool": ("bool", "kr_bool(r)", "kw_bool(w, {v})", 1),
    "uuid": ("kuuid_t", "kr_uuid(r)", "kw_uuid(w, {v})", 16),
    "string": ("kstr_t", "kr_string(r, flex)", "kw_string(w, flex, {v})", 1),
    "bytes": ("kbytes_t", "kr_bytes(r, flex)", "kw_bytes(w, flex, {v})", 1),
    "records": ("krecords_t", "kr_records(r, flex)", "kw_records(w, flex, &{v})", 1),
}


def snake(name):
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = s.lower()
    return s + "_" if s in C_KEYWORDS else s


def parse_versions(s):
    if s is None or s == "none" or s == "":
        return None
    s = s.strip()
    if s.endswith("+"):
        return (int(s[:-1]), MAXV)
    if "-" in s:
        a, b = s.split("-")
        return (int(a), int(b))
    return (int(s), int(s))


def intersect(a, b):
    if a is None or b is None:
        return None
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return (lo, hi) if lo <= hi else None


def cond(vr, var="v"):
    """C condition that `var` lies in the version range vr."""
    if vr is None:
        return "0"
    lo, hi = vr
    parts = []
    if lo > 0:
        parts.append(f"{var} >= {lo}")
    if hi < MAXV:
        parts.append(f"{var} <= {hi}")
    return " && ".join(parts) if parts else "1"


def load_json(path):
    with open(path) as f:
        text = "\n".join(l for l in f.read().split("\n") if not l.strip().startswith("//"))
    return json.loads(text)


class Field:
    def __init__(self, d, msg):
        self.name = d["name"]
        self.cname = snake(self.name)
        self.type = d["type"]
        self.versions = parse_versions(d.get("versions"))
        self.nullable = parse_versions(d.get("nullableVersions"))
        self.tagged = parse_versions(d.get("taggedVersions"))
        self.tag = d.get("tag")
        self.default = d.get("default")
        if self.default is not None and not isinstance(self.default, str):
            self.default = str(self.default).lower()
        # A field may override the message's flexible versions (RequestHeader.ClientId).
        self.flex_expr = ("(" + cond(parse_versions(d["flexibleVersions"])) + ")"
                          if "flexibleVersions" in d else "flex")
        self.is_array = self.type.startswith("[]")
        self.elem = self.type[2:] if self.is_array else self.type
        self.struct = None
        if self.elem not in PRIM:
            if "fields" in d:
                msg.define_struct(self.elem, d["fields"], d.get("versions"))
            elif self.elem in msg.common:
                # A common struct is defined before the first struct using it.
                c = msg.common[self.elem]
                msg.define_struct(c["name"], c["fields"], c.get("versions"))
            self.struct = self.elem

    def untagged_versions(self):
        """Versions in which the field is a normal (positional) field."""
        if self.tagged is None:
            return self.versions
        # Kafka's tagged fields are tagged in every version they exist in, in practice.
        if self.tagged[0] <= self.versions[0]:
            return None
        return (self.versions[0], self.tagged[0] - 1)


class Message:
    def __init__(self, data):
        self.name = data["name"]
        self.cname = snake(self.name)
        self.api_key = data.get("apiKey")
        self.kind = data.get("type")
        self.valid = parse_versions(data.get("validVersions"))
        self.flexible = parse_versions(data.get("flexibleVersions"))
        self.structs = {}   # kafka struct name -> list of Field
        self.order = []     # definition order (dependencies first)
        self.common = {c["name"]: c for c in data.get("commonStructs", [])}
        self.fields = [Field(f, self) for f in data["fields"]]
        # Common structs referenced by name only.
        for c in list(self.common.values()):
            if c["name"] not in self.structs:
                self.define_struct(c["name"], c["fields"], c.get("versions"))
        self.order.append((None, self.fields))

    def define_struct(self, name, fields, versions):
        if name in self.structs:
            return
        self.structs[name] = None  # mark in progress
        fl = [Field(f, self) for f in fields]
        self.structs[name] = fl
        self.order.append((name, fl))

    def ctype(self, struct_name):
        if struct_name is None:
            return f"struct {self.cname}"
        return f"struct {self.cname}_{snake(struct_name)}"

    def fname(self, struct_name):
        return self.cname if struct_name is None else f"{self.cname}_{snake(struct_name)}"

    def throttle_first(self):
        """The first version from which ThrottleTimeMs is the first field of
        the body (where a quota throttle time is patched in), or -1."""
        first = -1
        for v in range(self.valid[0], self.valid[1] + 1):
            present = [f for f in self.fields
                       if f.untagged_versions() and f.untagged_versions()[0] <= v <= f.untagged_versions()[1]]
            leads = bool(present) and present[0].name == "ThrottleTimeMs"
            if leads and first < 0:
                first = v
            assert leads or first < 0, f"{self.name}: ThrottleTimeMs stops leading at v{v}"
        return first


def c_default(f, msg):
    t = f.elem
    d = f.default
    if t == "string":
        if d == "null":
            return "KSTR_NULL"
        if d:
            return f'KSTR_LIT("{d}")'
        return 'KSTR_LIT("")'
    if t in ("bytes", "records"):
        if t == "records":
            return "(krecords_t){ NULL, 0, -1, 0 }"
        return "(kbytes_t){ NULL, -1 }" if d == "null" else "(kbytes_t){ NULL, 0 }"
    if t == "uuid":
        return "(kuuid_t){ { 0 } }"
    if t == "bool":
        return "true" if d == "true" else "false"
    if d is None or d == "":
        return "0"
    if d.startswith("0x"):
        return str(int(d, 16))
    if int(d) == -2147483648:
        return "INT32_MIN"
    return d


def nondefault_expr(f, msg, acc):
    t = f.elem
    if f.is_array:
        return f"{acc}_count != 0"
    if f.struct:
        return f"m->has_{f.cname}"
    if t == "string":
        return f"{acc}.len >= 0" if f.default == "null" else f"{acc}.len > 0"
    if t == "bytes":
        return f"{acc}.len >= 0" if f.default == "null" else f"{acc}.len > 0"
    if t == "records":
        return f"{acc}.len > 0"
    if t == "uuid":
        return f"!kuuid_is_zero({acc})"
    return f"{acc} != {c_default(f, msg)}"


def gen_struct_decl(msg, sname, fields, out):
    out.append(f"{msg.ctype(sname)} {{")
    if not fields:
        out.append("    char unused_;")
    for f in fields:
        if f.is_array:
            ct = msg.ctype(f.struct) if f.struct else PRIM[f.elem][0]
            out.append(f"    int32_t {f.cname}_count; /* -1 = null */")
            out.append(f"    {ct} *{f.cname};")
        elif f.struct:
            if f.tagged or f.nullable is not None:
                # tagged: sent; nullable: not null (where it may be)
                out.append(f"    bool has_{f.cname};")
            out.append(f"    {msg.ctype(f.struct)} {f.cname};")
        else:
            out.append(f"    {PRIM[f.elem][0]} {f.cname};")
    out.append("};")
    out.append("")


def gen_defaults(msg, sname, fields, out):
    fn = msg.fname(sname)
    out.append(f"void {fn}_defaults({msg.ctype(sname)} *m)")
    out.append("{")
    out.append("    memset(m, 0, sizeof(*m));")
    for f in fields:
        if f.is_array:
            continue
        if f.struct:
            out.append(f"    {msg.fname(f.struct)}_defaults(&m->{f.cname});")
        else:
            dv = c_default(f, msg)
            if dv not in ("0", "false", "(kuuid_t){ { 0 } }"):
                out.append(f"    m->{f.cname} = {dv};")
    out.append("}")
    out.append("")
    if sname is not None:
        out.append(f"{msg.ctype(sname)} *{fn}_array(arena_t *a, int32_t n)")
        out.append("{")
        out.append(f"    {msg.ctype(sname)} *arr = n > 0 ? arena_array(a, (size_t)n, sizeof(*arr)) : NULL;")
        out.append(f"    for (int32_t i = 0; i < n; i++)")
        out.append(f"        {fn}_defaults(&arr[i]);")
        out.append("    return arr;")
        out.append("}")
        out.append("")


SAMPLE = {
    "int8": "7", "int16": "300", "int32": "70000", "int64": "5000000000", "uint16": "65000",
    "uint32": "4000000000u", "float64": "1.5", "bool": "true",
    "uuid": "(kuuid_t){ { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 } }",
    "string": 'KSTR_LIT("sample")', "bytes": '(kbytes_t){ (uint8_t *)"bytes", 5 }',
    "records": '(krecords_t){ (uint8_t *)"records", 7, -1, 0 }',
}


def gen_sample(msg, sname, fields, out):
    """<name>_sample(): every field non-default, arrays of two elements, for
    codec round-trip tests."""
    fn = msg.fname(sname)
    out.append(f"void {fn}_sample(arena_t *a, {msg.ctype(sname)} *m)")
    out.append("{")
    out.append(f"    {fn}_defaults(m);")
    out.append("    (void)a;")
    for f in fields:
        acc = f"m->{f.cname}"
        if f.is_array:
            ct = msg.ctype(f.struct) if f.struct else PRIM[f.elem][0]
            out.append(f"    {acc}_count = 2;")
            out.append(f"    {acc} = arena_array(a, 2, sizeof({ct}));")
            out.append("    for (int i = 0; i < 2; i++)")
            if f.struct:
                out.append(f"        {msg.fname(f.struct)}_sample(a, &{acc}[i]);")
            else:
                out.append(f"        {acc}[i] = {SAMPLE[f.elem]};")
        elif f.struct:
            if f.tagged or f.nullable is not None:
                out.append(f"    m->has_{f.cname} = true;")
            out.append(f"    {msg.fname(f.struct)}_sample(a, &{acc});")
        else:
            out.append(f"    {acc} = {SAMPLE[f.elem]};")
    out.append("}")
    out.append("")


def read_value(f, msg, acc, ind, out):
    """Emit code reading one value of field f into acc (reader `r`)."""
    sp = " " * ind
    if f.is_array:
        if f.struct:
            elem_ct = msg.ctype(f.struct)
            out.append(f"{sp}{acc}_count = kr_array_len(r, {f.flex_expr}, {msg.fname(f.struct)}_min_size(v));")
            out.append(f"{sp}{acc} = kr_alloc_array(r, {acc}_count, sizeof({elem_ct}));")
            out.append(f"{sp}for (int32_t i = 0; i < {acc}_count && !r->err; i++) {{")
            out.append(f"{sp}    {msg.fname(f.struct)}_defaults(&{acc}[i]);")
            out.append(f"{sp}    {msg.fname(f.struct)}_read(r, v, &{acc}[i]);")
            out.append(f"{sp}}}")
        else:
            ct, rd, _, sz = PRIM[f.elem]
            out.append(f"{sp}{acc}_count = kr_array_len(r, {f.flex_expr}, {sz});")
            out.append(f"{sp}{acc} = kr_alloc_array(r, {acc}_count, sizeof({ct}));")
            out.append(f"{sp}for (int32_t i = 0; i < {acc}_count && !r->err; i++)")
            out.append(f"{sp}    {acc}[i] = {rd};")
        if f.nullable is None or True:
            nv = cond(f.nullable)
            out.append(f"{sp}if ({acc}_count < 0 && !({nv}))")
            out.append(f"{sp}    r->err = 1;")
    elif f.struct and f.nullable is not None:
        # A nullable struct: an int8 marker (-1 null, 1 present) first.
        present = acc.rsplit("->", 1)[0] + "->has_" + f.cname
        out.append(f"{sp}if (!({cond(f.nullable)}) || kr_int8(r) >= 0) {{")
        out.append(f"{sp}    {present} = true;")
        out.append(f"{sp}    {msg.fname(f.struct)}_read(r, v, &{acc});")
        out.append(f"{sp}}}")
    elif f.struct:
        out.append(f"{sp}{msg.fname(f.struct)}_read(r, v, &{acc});")
    else:
        out.append(f"{sp}{acc} = {PRIM[f.elem][1].replace('flex', f.flex_expr)};")
        if f.elem in ("string", "bytes", "records"):
            nv = cond(f.nullable)
            out.append(f"{sp}if ({acc}.len < 0 && !({nv}))")
            out.append(f"{sp}    r->err = 1;")


def write_value(f, msg, acc, ind, out):
    sp = " " * ind
    if f.is_array:
        out.append(f"{sp}kw_array_len(w, flex, {acc}_count);")
        if f.struct:
            out.append(f"{sp}for (int32_t i = 0; i < {acc}_count; i++)")
            out.append(f"{sp}    {msg.fname(f.struct)}_write(w, v, &{acc}[i]);")
        else:
            wr = PRIM[f.elem][2].format(v=f"{acc}[i]")
            out.append(f"{sp}for (int32_t i = 0; i < {acc}_count; i++)")
            out.append(f"{sp}    {wr};")
    elif f.struct and f.nullable is not None:
        present = acc.rsplit("->", 1)[0] + "->has_" + f.cname
        out.append(f"{sp}if ({cond(f.nullable)})")
        out.append(f"{sp}    kw_int8(w, {present} ? 1 : -1);")
        out.append(f"{sp}if ({present} || !({cond(f.nullable)}))")
        out.append(f"{sp}    {msg.fname(f.struct)}_write(w, v, &{acc});")
    elif f.struct:
        out.append(f"{sp}{msg.fname(f.struct)}_write(w, v, &{acc});")
    else:
        out.append(f"{sp}{PRIM[f.elem][2].format(v=acc).replace('flex,', f.flex_expr + ',')};")


def min_size_term(f, msg):
    """C expression: the fewest bytes field f can take on the wire (reader's
    version `v`, flexibility `flex`)."""
    fx = f.flex_expr
    if f.is_array:
        return f"({fx} ? 1 : 4)"
    if f.struct and f.nullable is not None:
        return f"(({cond(f.nullable)}) ? 1 : {msg.fname(f.struct)}_min_size(v))"
    if f.struct:
        return f"{msg.fname(f.struct)}_min_size(v)"
    if f.elem == "string":
        return f"({fx} ? 1 : 2)"
    if f.elem in ("bytes", "records"):
        return f"({fx} ? 1 : 4)"
    return str(PRIM[f.elem][3])


def min_size_needed(msg):
    """Structs whose _min_size() is called: array elements, and the structs
    nested in those."""
    fields_of = dict((name, fl) for name, fl in msg.order)
    need = set()
    todo = [f.struct for _, fl in msg.order for f in fl if f.is_array and f.struct]
    while todo:
        name = todo.pop()
        if name in need:
            continue
        need.add(name)
        todo.extend(f.struct for f in fields_of.get(name, [])
                    if f.struct and not f.is_array
                    and intersect(f.untagged_versions(), f.versions) is not None)
    return need


def gen_min_size(msg, sname, fields, out):
    """<struct>_min_size(v): a lower bound on one encoded element at version v,
    so that an array count the remaining bytes cannot hold is refused before
    anything is allocated (decoding stays O(frame size))."""
    if sname not in min_size_needed(msg):
        return
    fn = msg.fname(sname)
    out.append(f"static size_t {fn}_min_size(int16_t v)")
    out.append("{")
    out.append(f"    bool flex = {cond(msg.flexible)};")
    out.append("    size_t n = flex ? 1 : 0;   /* tagged-field count */")
    for f in fields:
        uv = intersect(f.untagged_versions(), f.versions)
        if uv is None:
            continue
        c = cond(uv)
        if c == "1":
            out.append(f"    n += {min_size_term(f, msg)};")
        else:
            out.append(f"    if ({c})")
            out.append(f"        n += {min_size_term(f, msg)};")
    out.append("    (void)v;")
    out.append("    return n > 0 ? n : 1;")
    out.append("}")
    out.append("")


def gen_read(msg, sname, fields, out):
    fn = msg.fname(sname)
    out.append(f"static void {fn}_read(kreader_t *r, int16_t v, {msg.ctype(sname)} *m)")
    out.append("{")
    flex = cond(msg.flexible)
    out.append(f"    bool flex = {flex};")
    out.append("    (void)flex;")
    for f in fields:
        uv = intersect(f.untagged_versions(), f.versions)
        if uv is None:
            continue
        out.append(f"    if ({cond(uv)}) {{")
        read_value(f, msg, f"m->{f.cname}", 8, out)
        out.append("    }")
    tagged = [f for f in fields if f.tagged is not None]
    out.append("    if (flex && !r->err) {")
    out.append("        uint32_t ntags = kr_uvarint(r);")
    out.append("        for (uint32_t t = 0; t < ntags && !r->err; t++) {")
    out.append("            uint32_t tag = kr_uvarint(r);")
    out.append("            uint32_t sz = kr_uvarint(r);")
    out.append("            if (r->err || sz > (size_t)(r->end - r->p)) {")
    out.append("                r->err = 1;")
    out.append("                break;")
    out.append("            }")
    out.append("            uint8_t *next = r->p + sz;")
    if tagged:
        out.append("            kreader_t sub = { r->p, next, r->arena, 0 };")
        out.append("            switch (tag) {")
        for f in tagged:
            out.append(f"            case {f.tag}:")
            out.append(f"                if ({cond(f.tagged)}) {{")
            out.append("                    kreader_t *outer = r;")
            out.append("                    r = &sub;")
            read_value(f, msg, f"m->{f.cname}", 20, out)
            if f.struct and not f.is_array:
                out.append(f"                    m->has_{f.cname} = true;")
            out.append("                    r = outer;")
            out.append("                    if (sub.err)")
            out.append("                        r->err = 1;")
            out.append("                }")
            out.append("                break;")
        out.append("            default:")
        out.append("                break;")
        out.append("            }")
    else:
        out.append("            (void)tag;")
    out.append("            r->p = next;")
    out.append("        }")
    out.append("    }")
    out.append("}")
    out.append("")


def gen_write(msg, sname, fields, out):
    fn = msg.fname(sname)
    out.append(f"static void {fn}_write(kwriter_t *w, int16_t v, const {msg.ctype(sname)} *m)")
    out.append("{")
    out.append(f"    bool flex = {cond(msg.flexible)};")
    out.append("    (void)flex;")
    for f in fields:
        uv = intersect(f.untagged_versions(), f.versions)
        if uv is None:
            continue
        out.append(f"    if ({cond(uv)}) {{")
        write_value(f, msg, f"m->{f.cname}", 8, out)
        out.append("    }")
    tagged = sorted([f for f in fields if f.tagged is not None], key=lambda f: f.tag)
    out.append("    if (flex) {")
    if not tagged:
        out.append("        kw_uvarint(w, 0);")
    else:
        out.append("        uint32_t ntags = 0;")
        for f in tagged:
            out.append(f"        if (({cond(f.tagged)}) && {nondefault_expr(f, msg, 'm->' + f.cname)})")
            out.append("            ntags++;")
        out.append("        kw_uvarint(w, ntags);")
        for f in tagged:
            out.append(f"        if (({cond(f.tagged)}) && {nondefault_expr(f, msg, 'm->' + f.cname)}) {{")
            out.append("            kwriter_t tw;")
            out.append("            kw_init(&tw);")
            out.append("            {")
            out.append("                kwriter_t *outer = w;")
            out.append("                w = &tw;")
            write_value(f, msg, f"m->{f.cname}", 16, out)
            out.append("                w = outer;")
            out.append("            }")
            out.append(f"            kw_uvarint(w, {f.tag});")
            out.append("            kw_uvarint(w, (uint32_t)kw_total(&tw));")
            out.append("            kw_append(w, &tw);")
            out.append("            kw_free(&tw);")
            out.append("        }")
    out.append("    }")
    out.append("}")
    out.append("")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    schema_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "proto", "schemas")
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..")
    storage_dir = os.path.join(os.path.dirname(os.path.abspath(schema_dir)), "storage")

    def schema_path(name):
        p = os.path.join(schema_dir, name + ".json")
        return p if os.path.exists(p) else os.path.join(storage_dir, name + ".json")

    msgs = [Message(load_json(schema_path(n))) for n in MESSAGES]

    h = ["/*", " * proto_messages.h - GENERATED by tools/gen_proto.py from Kafka's message",
         " * schemas; do not edit.  One struct per message and nested struct, with",
         " * <name>_defaults(), <name>_array() for nested structs, and for each",
         " * message <name>_decode() / <name>_encode().", " */",
         "#ifndef SAMSA_PROTO_MESSAGES_H", "#define SAMSA_PROTO_MESSAGES_H", "",
         "#include <stdbool.h>", "#include <stdint.h>", "", '#include "proto_codec.h"', ""]
    c = ["/* proto_messages.c - GENERATED by tools/gen_proto.py; do not edit. */",
         "#include <string.h>", "", '#include "proto_messages.h"', ""]
    # Test-only: every field set, for round-trip tests and fuzzing seeds;
    # kept out of the daemon.
    sh = ["/*", " * proto_samples.h - GENERATED by tools/gen_proto.py; do not edit.  Test-only",
          " * builders: <name>_sample() sets every field to a non-default value.", " */",
          "#ifndef SAMSA_PROTO_SAMPLES_H", "#define SAMSA_PROTO_SAMPLES_H", "",
          '#include "proto_messages.h"', ""]
    sc = ["/* proto_samples.c - GENERATED by tools/gen_proto.py; do not edit. */",
          "#include <string.h>", "", '#include "proto_samples.h"', ""]

    for m in msgs:
        h.append(f"/* ---- {m.name} (versions {m.valid[0]}-{m.valid[1]}, flexible {m.flexible}) ---- */")
        up = snake(m.name).upper()
        h.append(f"#define {up}_MIN_VERSION {m.valid[0]}")
        h.append(f"#define {up}_MAX_VERSION {m.valid[1]}")
        fv = m.flexible[0] if m.flexible else -1
        h.append(f"#define {up}_FIRST_FLEXIBLE {fv}")
        for sname, fields in m.order:
            gen_struct_decl(m, sname, fields, h)
        for sname, fields in m.order:
            h.append(f"void {m.fname(sname)}_defaults({m.ctype(sname)} *m);")
            sh.append(f"void {m.fname(sname)}_sample(arena_t *a, {m.ctype(sname)} *m);")
            if sname is not None:
                h.append(f"{m.ctype(sname)} *{m.fname(sname)}_array(arena_t *a, int32_t n);")
        h.append(f"int {m.cname}_decode(kreader_t *r, int16_t version, {m.ctype(None)} *m);")
        h.append(f"void {m.cname}_encode(kwriter_t *w, int16_t version, const {m.ctype(None)} *m);")
        h.append("")

        for sname, fields in m.order:
            c.append(f"static void {m.fname(sname)}_read(kreader_t *r, int16_t v, {m.ctype(sname)} *m);")
            c.append(f"static void {m.fname(sname)}_write(kwriter_t *w, int16_t v, const {m.ctype(sname)} *m);")
            if sname in min_size_needed(m):
                c.append(f"static size_t {m.fname(sname)}_min_size(int16_t v);")
        c.append("")
        for sname, fields in m.order:
            gen_min_size(m, sname, fields, c)
            gen_defaults(m, sname, fields, c)
            gen_sample(m, sname, fields, sc)
            gen_read(m, sname, fields, c)
            gen_write(m, sname, fields, c)
        c.append(f"int {m.cname}_decode(kreader_t *r, int16_t version, {m.ctype(None)} *m)")
        c.append("{")
        c.append(f"    {m.cname}_defaults(m);")
        c.append(f"    {m.cname}_read(r, version, m);")
        c.append("    return r->err ? -1 : 0;")
        c.append("}")
        c.append("")
        c.append(f"void {m.cname}_encode(kwriter_t *w, int16_t version, const {m.ctype(None)} *m)")
        c.append("{")
        c.append(f"    {m.cname}_write(w, version, m);")
        c.append("}")
        c.append("")

    h.append("/* Every generated message, for table-driven tests and tools. */")
    h.append("typedef struct proto_message_info {")
    h.append("    const char *name;")
    h.append("    int16_t api_key;            /* -1 for headers */")
    h.append("    int16_t min_version;")
    h.append("    int16_t max_version;")
    h.append("    int16_t first_flexible;     /* -1: never */")
    h.append("    int16_t throttle_first;     /* responses: from this version on the body")
    h.append("                                 * starts with throttle_time_ms (-1: never) */")
    h.append("    size_t size;")
    h.append("    int (*decode)(kreader_t *r, int16_t version, void *m);")
    h.append("    void (*encode)(kwriter_t *w, int16_t version, const void *m);")
    h.append("} proto_message_info_t;")
    h.append("extern const proto_message_info_t proto_message_table[];")
    h.append("extern const int proto_message_table_count;")
    h.append("")
    sh.append("/* Sample builders in proto_message_table order. */")
    sh.append("extern void (*const proto_sample_table[])(arena_t *a, void *m);")
    sh.append("")
    sh.append("#endif")
    for m in msgs:
        sc.append(f"static void {m.cname}_sample_any(arena_t *a, void *m) {{ {m.cname}_sample(a, m); }}")
    sc.append("")
    sc.append("void (*const proto_sample_table[])(arena_t *a, void *m) = {")
    for m in msgs:
        sc.append(f"    {m.cname}_sample_any,")
    sc.append("};")
    sc.append("")
    for m in msgs:
        c.append(f"static int {m.cname}_decode_any(kreader_t *r, int16_t v, void *m) "
                 f"{{ return {m.cname}_decode(r, v, m); }}")
        c.append(f"static void {m.cname}_encode_any(kwriter_t *w, int16_t v, const void *m) "
                 f"{{ {m.cname}_encode(w, v, m); }}")
    c.append("")
    c.append("const proto_message_info_t proto_message_table[] = {")
    for m in msgs:
        key = m.api_key if m.api_key is not None else -1
        fv = m.flexible[0] if m.flexible else -1
        tf = m.throttle_first() if m.kind == "response" else -1
        c.append(f'    {{ "{m.name}", {key}, {m.valid[0]}, {m.valid[1]}, {fv}, {tf}, sizeof({m.ctype(None)}),')
        c.append(f"      {m.cname}_decode_any, {m.cname}_encode_any }},")
    c.append("};")
    c.append(f"const int proto_message_table_count = {len(msgs)};")
    c.append("")
    h.append("#endif")
    with open(os.path.join(out_dir, "include", "proto_messages.h"), "w") as f:
        f.write("\n".join(h) + "\n")
    with open(os.path.join(out_dir, "src", "proto_messages.c"), "w") as f:
        f.write("\n".join(c) + "\n")
    with open(os.path.join(out_dir, "tests", "proto_samples.h"), "w") as f:
        f.write("\n".join(sh) + "\n")
    with open(os.path.join(out_dir, "tests", "proto_samples.c"), "w") as f:
        f.write("\n".join(sc) + "\n")


if __name__ == "__main__":
    main()
