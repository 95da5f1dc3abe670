// Package capture writes pcapng files that Wireshark and tshark open, built
// from the socket calls wirelab makes rather than captured from an
// interface: no capture device, no privileges. A TCP connection becomes a
// Stream whose handshake, data, FINs and RSTs are synthesised with
// consistent sequence and acknowledgement numbers; a UDP datagram becomes
// one packet; TLS key log lines become a Decryption Secrets Block, so that
// Wireshark decrypts the TLS in the file with no key options of its own.
//
// The link type is LINKTYPE_RAW (101, layers.LinkTypeRaw): each packet
// starts at its IP header, and a reader tells IPv4 from IPv6 by the version
// nibble, so one interface carries both families mixed in call order.
// Ethernet would need invented MAC addresses that say nothing about the
// connection, and LINKTYPE_IPV4/LINKTYPE_IPV6 would need an interface per
// family.
//
// Each packet acknowledges everything the other side sent so far; a FIN is
// acknowledged at once, and a side that answers nothing gets a pure ACK
// written for it every MiB it receives, so that nothing unacknowledged
// nears the 8 MiB window (65535, scaled by 2^7 in the SYNs). tshark's
// expert information on such files shows no Error and no Warning but one:
// Wireshark flags every RST "Connection reset (RST)", a Warning.
//
// A TLS handshake needs Stream.Hold: see there.
//
// Packets and the pcapng blocks are gopacket's (layers serialised with
// computed checksums and lengths, written by pcapgo.NgWriter); nothing here
// needs cgo or libpcap.
//
// Each block reaches the writer in a single Write call once it is whole,
// so a process killed mid-run leaves a file that readers take up to its
// last whole block.
package capture
