"""The Offer Library service: state and Adobe's rules for each kind of object, no HTTP (moto's
`models.py`). Listing, decisioning and batch workloads included; IMS, the gateway and faults
are elsewhere (`auth.py`, `faults.py`)."""
