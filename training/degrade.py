"""Photo-like damage shared by the recogniser's fine-tuning (`finetune_rec.py`) and its checks
(`small_print_check.py`)."""
import io

from PIL import Image, ImageFilter


def small_print(img, rng):
    """The line as a photo holds small print: its text 5-13 px tall (the crop's text is cut about
    32 px tall, `LINE_TEXT_PX`), half of them defocused and most JPEG-compressed at that size,
    then scaled back up bilinearly as the pipeline cuts a line from the photo. Detail is lost, not
    only blurred: the reads a label's smallest print gets."""
    w, h = img.size
    s = rng.uniform(0.16, 0.4)
    sw, sh = max(4, round(w * s)), max(4, round(h * s))
    small = img.resize((sw, sh), Image.BOX)
    if rng.random() < 0.5:
        # Defocus in photo pixels, as the generator's mild blur (0.3-1.1 px).
        small = small.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    if rng.random() < 0.6:
        buf = io.BytesIO()
        small.save(buf, format="JPEG", quality=rng.randrange(45, 92))
        small = Image.open(io.BytesIO(buf.getvalue())).convert("L")
    return small.resize((w, h), Image.BILINEAR)
