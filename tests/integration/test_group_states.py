"""Group states a client can observe right after membership changes, with
requests encoded by kafka-python's protocol classes: the last member's
LeaveGroup, the protocol type of an emptied group, and member ids handed
out with MEMBER_ID_REQUIRED that are never used."""
import time

import pytest
from kafka.protocol.admin import DescribeGroupsRequest
from kafka.protocol.group import JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest

from conftest import unique
from kproto import Conn, call, coordinator_conn

MEMBER_ID_REQUIRED = 79


@pytest.fixture
def coord(broker):
    c = coordinator_conn(broker.port, timeout=60)
    yield c
    c.close()


def join_v4(c, group, member="", ptype="consumer", session=30000, rebalance=60000):
    """JoinGroup v4: a new member first gets MEMBER_ID_REQUIRED and its id."""
    req = JoinGroupRequest[4](group, session, rebalance, member, ptype, [("range", b"\x00\x00")])
    return call(c, req)


def join_as_new_member(c, group, ptype="consumer"):
    r = join_v4(c, group, ptype=ptype)
    assert r.error_code == MEMBER_ID_REQUIRED and r.member_id
    r = join_v4(c, group, member=r.member_id, ptype=ptype)
    assert r.error_code == 0, r
    return r


def describe(c, group):
    (g,) = call(c, DescribeGroupsRequest[1]([group])).groups
    return {"error": g[0], "state": g[2], "protocol_type": g[3], "members": [m[0] for m in g[5]]}


def test_the_last_member_leaving_empties_the_group_before_the_answer(broker, coord):
    """Kafka completes the rebalance a LeaveGroup starts before answering
    when nobody is left, so tools that need an inactive group (offset
    resets) can act at once; the protocol type stays with the empty group."""
    group = unique("leave")
    for generation in range(1, 11):
        r = join_as_new_member(coord, group)
        assert r.generation_id == 2 * generation - 1
        s = call(coord, SyncGroupRequest[2](group, r.generation_id, r.member_id,
                                            [(r.member_id, b"")]))
        assert s.error_code == 0
        assert describe(coord, group)["state"] == "Stable"
        assert call(coord, LeaveGroupRequest[1](group, r.member_id)).error_code == 0
        assert describe(coord, group) == {"error": 0, "state": "Empty", "protocol_type": "consumer",
                                          "members": []}
    # An empty group takes a member of any protocol type, which becomes its type.
    other = join_as_new_member(coord, group, ptype="connect")
    assert describe(coord, group)["protocol_type"] == "connect"
    assert call(coord, LeaveGroupRequest[1](group, other.member_id)).error_code == 0


def test_unused_member_ids_expire_after_their_session_timeout(broker, coord):
    """A member id handed out with MEMBER_ID_REQUIRED that is never used
    expires after the session timeout it was asked with; a rebalance then
    does not wait for it until the rebalance timeout."""
    group = unique("pending")
    a = join_as_new_member(coord, group)
    assert call(coord, SyncGroupRequest[2](group, a.generation_id, a.member_id,
                                           [(a.member_id, b"")])).error_code == 0
    ghost = Conn(broker.port)
    g = join_v4(ghost, group, session=6000)
    assert g.error_code == MEMBER_ID_REQUIRED and g.member_id
    ghost.close()
    time.sleep(8)       # the ghost's 6 s session timeout passes
    start = time.monotonic()
    r = join_v4(coord, group, member=a.member_id, rebalance=60000)
    waited = time.monotonic() - start
    assert r.error_code == 0 and r.generation_id == a.generation_id + 1
    assert [m[0] for m in r.members] == [a.member_id]
    # With the ghost still pending the join would wait for the 60 s
    # rebalance timeout.
    assert waited < 30, waited
