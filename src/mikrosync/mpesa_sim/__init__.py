"""A local stand-in for Safaricom's Daraja API (as `simulator` is for RouterOS): OAuth, STK
push with a delayed callback, C2B URL registration and "simulate", and test controls to send
duplicate, out-of-order, late or malformed callbacks. It only ever talks to the URLs it is
given (loopback in tests and the demo)."""

from mikrosync.mpesa_sim.app import MpesaSim, SimConfig, StkOutcome

__all__ = ["MpesaSim", "SimConfig", "StkOutcome"]
