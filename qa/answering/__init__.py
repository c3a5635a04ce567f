"""Answering: rank the pledges for a question and decide the coverage band."""
