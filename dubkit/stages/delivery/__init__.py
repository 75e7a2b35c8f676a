"""Delivery specifications: the profiles (loudness, true peak, codecs, container), the subtitle rules per
language, the loudness policy and the burned-in subtitle style. Data and pure functions used by
`stages/deliver.py` and `stages/master.py`; the tools they run are behind `adapters/`."""
