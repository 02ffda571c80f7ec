"""Content screening before feeds: a validated policy (:mod:`.policy`), its detectors and the
decision for one item (:mod:`.screen`)."""
