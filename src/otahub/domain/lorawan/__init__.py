"""LoRaWAN application-layer packages for FUOTA: TS004 fragmentation and its FEC, TS005 multicast setup,
TS003 clock sync, regional parameters and airtime. Pure Python (numpy for GF(2) work), no I/O."""
