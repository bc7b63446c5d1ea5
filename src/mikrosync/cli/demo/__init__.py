"""`mikrosync demo`: the whole product on embedded services with simulated routers.

Lives under `cli` because it is the one product entry point allowed to import the simulator.
"""
