package capture

import (
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The largest payloads: an IPv4 packet's total length and an IPv6 packet's
// payload length are 16 bits; a UDP header takes 8 bytes, a TCP header
// without options 20.
const (
	maxUDP4 = 65535 - 20 - 8 // 65507
	maxUDP6 = 65535 - 8      // 65527
)

// The loopback MSS (lo's MTU is 65536, clamped to what one IPv4 packet
// carries), as Linux advertises it on 127.0.0.1 and ::1.
const (
	mss4 = 65535 - 20 - 20 // 65495
	mss6 = 65536 - 40 - 20 // 65476
)

// serializeOpts computes every checksum and length: a reader that checks
// them (Wireshark can) finds nothing wrong.
var serializeOpts = gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true}

// ipPair gives src and dst in one family: IPv4 when both are IPv4 (an
// IPv4-mapped IPv6 address counts as IPv4, as the socket carried IPv4),
// else IPv6, with an IPv4 address in its mapped form. An invalid address
// (a zero netip.Addr) is the unspecified address.
func ipPair(src, dst netip.Addr) (s, d net.IP, v6 bool) {
	src, dst = src.Unmap(), dst.Unmap()
	if !src.IsValid() {
		src = netip.IPv4Unspecified()
		if dst.Is6() {
			src = netip.IPv6Unspecified()
		}
	}
	if !dst.IsValid() {
		dst = netip.IPv4Unspecified()
		if src.Is6() {
			dst = netip.IPv6Unspecified()
		}
	}
	if src.Is4() && dst.Is4() {
		a, b := src.As4(), dst.As4()
		return net.IP(a[:]), net.IP(b[:]), false
	}
	a, b := src.As16(), dst.As16()
	return net.IP(a[:]), net.IP(b[:]), true
}

// ipLayer is the IP header of a packet from src to dst carrying proto;
// id is the IPv4 identification.
func ipLayer(src, dst net.IP, v6 bool, proto layers.IPProtocol, id uint16) gopacket.NetworkLayer {
	if v6 {
		return &layers.IPv6{Version: 6, NextHeader: proto, HopLimit: 64, SrcIP: src, DstIP: dst}
	}
	return &layers.IPv4{
		Version: 4, IHL: 5, TTL: 64, Protocol: proto, Id: id,
		Flags: layers.IPv4DontFragment, // as Linux sends TCP and small UDP
		SrcIP: src, DstIP: dst,
	}
}

// serialize gives the bytes of ip, l4 and payload, with checksums and
// lengths filled in.
func serialize(ip gopacket.NetworkLayer, l4 interface {
	gopacket.SerializableLayer
	SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
}, payload []byte) ([]byte, error) {
	if err := l4.SetNetworkLayerForChecksum(ip); err != nil {
		return nil, err
	}
	buf := gopacket.NewSerializeBufferExpectedSize(60, len(payload))
	err := gopacket.SerializeLayers(buf, serializeOpts,
		ip.(gopacket.SerializableLayer), l4, gopacket.Payload(payload))
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
