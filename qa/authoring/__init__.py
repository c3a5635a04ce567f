"""Authoring tools for staff: draft, review and accept voter-language expansions. Never used to answer."""
