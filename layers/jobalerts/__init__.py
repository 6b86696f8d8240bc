"""jobalerts: job alerts from microblogs, as email digests and SMS."""
