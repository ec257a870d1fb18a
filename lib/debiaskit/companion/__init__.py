"""The companion around the papers' numbers: the manifest, claims, artifacts, batch regeneration, reports and the command line."""
