"""mikrosync: keeps an ISP's subscriber database and its MikroTik routers in agreement."""

__version__ = "0.1.0"
