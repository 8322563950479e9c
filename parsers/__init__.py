"""Pure parsers: bytes in, typed records out. No network, disk, database or clock."""
