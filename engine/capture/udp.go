package capture

import (
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// UDP writes one datagram from src to dst as one packet of its real length.
// A payload larger than one IP packet carries (65507 bytes over IPv4, 65527
// over IPv6) cannot be a real datagram's; it is written cut to that size,
// the block's original length saying how long it was (the IP and UDP
// length fields, 16 bits, say the size of what was written).
func (f *File) UDP(src, dst netip.AddrPort, payload []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead() {
		return
	}
	s, d, v6 := ipPair(src.Addr(), dst.Addr())
	limit, hdr := maxUDP4, 20+8
	if v6 {
		limit, hdr = maxUDP6, 40+8
	}
	orig := hdr + len(payload)
	if len(payload) > limit {
		payload = payload[:limit]
	}
	f.udpID++
	ip := ipLayer(s, d, v6, layers.IPProtocolUDP, f.udpID)
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	data, err := serialize(ip, udp, payload)
	if err != nil {
		f.emit(err)
		return
	}
	f.writePacket(data, orig, nil)
}
