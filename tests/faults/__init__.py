"""Fault injection: kills, full disks, missing permissions, damaged caches and hostile inputs (issue 15)."""
