//! Prefixes on the wire: a length byte and the fewest octets that hold the network bits.
