"""Running generations: the shared job runner and the in-process worker."""
