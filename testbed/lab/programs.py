"""The small programs the lab runs inside its namespaces (`python -c`), with the interpreter of the tests."""

# Runs inside a namespace with the interpreter that runs the tests, so the lab
# needs neither ping nor arping installed.
NET_TOOL = r"""
import socket, struct, sys, time
mode, iface, tip, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
tpa = socket.inet_aton(tip)
def until(recv, ok, wait=timeout):
    end = time.monotonic() + wait
    while (left := end - time.monotonic()) > 0:
        s.settimeout(left)
        try:
            data = recv()
        except socket.timeout:
            break
        if ok(data):
            return data
    return None
def csum(b):
    c = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    c = (c >> 16) + (c & 0xFFFF)
    return ~(c + (c >> 16)) & 0xFFFF
if mode == "ping":
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident, body = 0x5052, struct.pack("!HH", 0x5052, 1) + b"presence-lab"
    s.sendto(b"\x08\x00" + struct.pack("!H", csum(b"\x08\x00\x00\x00" + body)) + body, (tip, 0))
    sys.exit(0 if until(lambda: s.recv(1500), lambda d: d[12:16] == tpa and d[(d[0] & 15) * 4] == 0
                        and d[(d[0] & 15) * 4 + 4:(d[0] & 15) * 4 + 6] == struct.pack("!H", ident)) else 1)
if mode in ("dhcp", "mdns"):
    # tip is our own address; argv[5] the hostname, argv[6] how many copies
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.bind((iface, 0))
    mac, name = s.getsockname()[4], sys.argv[5].encode()
    if mode == "dhcp":
        dst_mac, src, dst, ttl, sport, dport = b"\xff" * 6, b"\x00" * 4, b"\xff" * 4, 64, 68, 67
        opts = (b"\x35\x01\x03" + b"\x32\x04" + tpa + b"\x0c" + bytes([len(name)]) + name + b"\xff")
        payload = (b"\x01\x01\x06\x00" + struct.pack("!I", int(time.time()) & 0xFFFFFFFF) + b"\x00" * 20
                   + mac + b"\x00" * 202 + b"\x63\x82\x53\x63" + opts).ljust(300, b"\x00")
    else:
        dst_mac, src, dst, ttl = b"\x01\x00\x5e\x00\x00\xfb", tpa, bytes([224, 0, 0, 251]), 255
        sport = dport = 5353
        qname = b"".join(bytes([len(p)]) + p for p in (name, b"local")) + b"\x00"
        payload = (struct.pack("!6H", 0, 0x8400, 0, 1, 0, 0) + qname
                   + struct.pack("!HHIH", 1, 0x8001, 120, 4) + tpa)
    udp = struct.pack("!4H", sport, dport, 8 + len(payload), 0) + payload  # UDP checksum 0: none
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, ttl, 17, 0, src, dst))
    ip[10:12] = struct.pack("!H", csum(bytes(ip)))
    for _ in range(int(sys.argv[6])):
        s.send(dst_mac + mac + b"\x08\x00" + bytes(ip) + udp)
    sys.exit(0)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind((iface, 0))
mac = s.getsockname()[4]
if mode == "listen":
    print("ready", flush=True)
    d = until(lambda: s.recv(64), lambda d: len(d) >= 42 and d[28:32] == tpa) or sys.exit(1)
    print(d[6:12].hex(":"), flush=True); sys.exit(0)
# announce: gratuitous request for our own ip; probe: who-has tip, tell spa;
# count: argv[6] probes one after another to Ethernet dst argv[5], print how many were answered
spa = tpa if mode == "announce" else socket.inet_aton(sys.argv[5])
dst_mac = bytes.fromhex(sys.argv[6].replace(":", "")) if mode == "count" else b"\xff" * 6
request = (dst_mac + mac + b"\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01" + mac + spa + b"\x00" * 6 + tpa
           + b"\x00" * 18)
is_reply = lambda d: len(d) >= 42 and d[12:14] == b"\x08\x06" and d[20:22] == b"\x00\x02" and d[28:32] == tpa
if mode == "count":
    answered = 0
    for _ in range(int(sys.argv[7])):
        s.send(request)
        answered += until(lambda: s.recv(64), is_reply) is not None
    print(answered, flush=True); sys.exit(0)
s.send(request)
if mode == "probe":
    d = until(lambda: s.recv(64), is_reply) or sys.exit(1)
    print(d[22:28].hex(":"), flush=True)
"""

# Prints "ready", collects frames eth0 receives (not the ones it sends) until
# stdin closes, then prints them one hex line each.
CAPTURE = r"""
import select, socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
print("ready", flush=True)
frames = []
def take():
    data, addr = s.recvfrom(65535)
    if addr[2] != socket.PACKET_OUTGOING:
        frames.append(data)
while True:
    ready = select.select([s, sys.stdin], [], [])[0]
    if s in ready:
        take()
    if sys.stdin in ready:
        break
s.setblocking(False)
while True:
    try:
        take()
    except BlockingIOError:
        break
print("\n".join(f.hex() for f in frames), flush=True)
"""


# Broadcasts gratuitous ARP requests from random locally administered MACs (and random addresses of
# the subnet) at argv[4] frames a second for argv[5] seconds; prints "ready", then how many it sent.
FLOOD = r"""
import os, random, socket, struct, sys, time
iface, (net, prefix), (rate, seconds) = sys.argv[1], map(int, sys.argv[2:4]), map(float, sys.argv[4:6])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
print("ready", flush=True)
sent, start = 0, time.monotonic()
while (elapsed := time.monotonic() - start) < seconds:
    while sent < elapsed * rate:
        mac = bytes([random.randrange(256) & 0xFC | 0x02]) + os.urandom(5)
        ip = struct.pack("!I", net | random.randrange(1, 2 ** (32 - prefix) - 1))
        s.send(b"\xff" * 6 + mac + b"\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01" + mac + ip + bytes(6) + ip
               + bytes(18))
        sent += 1
    time.sleep(0.002)
print(sent, flush=True)
"""
