"""The platform's CrossGuard policy pack: rules in `rules.py`, wiring in `pack.py`, entry point
`__main__.py` (run by `pulumi preview --policy-pack policy`)."""
