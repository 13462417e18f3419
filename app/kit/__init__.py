"""Request plumbing the API and the pages share: neither imports the other."""
