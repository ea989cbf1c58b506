"""Post-processing stages on finished pictures, each run by an auxiliary model from the catalog:
`upscale` (an ESRGAN-class network, else the built-in tiny upscaler) and `background` (a
segmenter whose mask becomes the alpha channel). Loaded on first use; they import torch."""
