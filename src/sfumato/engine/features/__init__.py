"""What a render does with pictures besides calling the pipeline: init images and masks fitted to
the request, inpaint's paste-back, and the outpaint canvas. PIL only; importing loads nothing heavy."""
