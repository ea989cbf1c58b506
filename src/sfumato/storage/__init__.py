"""Where images live (the BlobStore protocol and its implementations) and how uploads reach them."""
