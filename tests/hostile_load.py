"""Hostile-client loads shared by the integration tests
(tests/integration/test_hostile.py) and the benchmark (bench/hostile.py):
bytes pushed at a broker that may stop reading, and frames whose array
counts the frame cannot hold."""
import socket
import struct
import threading
import time

MB = 1 << 20


def push_until_blocked(sock, chunk, limit, stall_s=2.0):
    """Sends chunk repeatedly until the peer stops taking bytes for stall_s
    or limit bytes went out; returns the bytes the peer took."""
    sock.setblocking(False)
    sent, view, last = 0, memoryview(chunk), time.time()
    while sent < limit and time.time() - last < stall_s:
        try:
            n = sock.send(view[sent % len(chunk):])
        except BlockingIOError:
            time.sleep(0.01)
            continue
        sent += n
        last = time.time()
    sock.setblocking(True)
    return sent


def malformed_metadata_frame(size=16 * MB):
    """A Metadata v1 frame of `size` bytes whose topic count fits the frame
    but whose names are garbage."""
    body_len = size - 4 - 4 - 2 - len("flood")
    bad = struct.pack(">ihhih", size, 3, 1, 1, 5) + b"flood" + struct.pack(">i", (body_len - 4) // 2)
    return bad + b"\xff" * (size + 4 - len(bad))


def send_on_new_connections(port, data, n):
    """Opens n connections and sends data on each at the same time; returns
    the sockets (the caller closes them)."""
    conns = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(n)]
    threads = [threading.Thread(target=s.sendall, args=(data,)) for s in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return conns
