"""The BentoML service: feeds, similar content, live events and influencer candidates.

``serving.service:AdvocacyService`` is the service (``advocacy serve`` runs it); see
docs/serving.md for the endpoints, authentication and configuration.
"""
