"""Where generated images live: the BlobStore protocol and its implementations."""
