"""Digit GAN: pick a digit and a seed, generate a grid, and walk the latent space between two seeds."""

import streamlit as st
import ui

from showcase.tasks import gan

DIGIT_OPTIONS = ["any", *range(10)]
GRID_SIZES = list(gan.GRID_SIZES)

st.title("Digit GAN")
st.write(
    "A conditional DCGAN trained on MNIST draws the digit you ask for. A **seed** fixes the random latent "
    "vectors, so the same digit, seed and grid size always give the same picture: share the page's address "
    "and others see your grid. Under each sample, the project's Digits classifier says what it reads."
)
entry = ui.model_entry_or_stop("gan")


def shared_settings():
    """Digit, seed and grid size from the address (?digit=7&seed=42&size=4), else the defaults, with a warning."""
    params, problems = gan.settings_from_query(st.query_params)
    if problems:
        st.warning("Ignored from the address: " + "; ".join(problems) + ". Using the defaults instead.",
                   icon=":material/link_off:")
    return params


def classifier():
    """The Digits model that reads every sample, or None (with a note) when this checkout has not trained it."""
    if "digits" not in ui.manifest()["models"]:
        st.info("Train the Digits model (`python training/train_digits.py`) to see what it reads in each sample.")
        return None
    return ui.predictor_or_stop("digits", gan.READER_FORMAT)


initial = shared_settings()
left, right = st.columns([1, 2], gap="large")
with left:
    with st.form("gan_settings"):
        digit = st.selectbox("Digit", DIGIT_OPTIONS, index=DIGIT_OPTIONS.index(initial["digit"]), key="gan_digit",
                             help="'any' lets the seed choose a digit for every sample.")
        seed = st.number_input("Seed", 0, gan.MAX_SEED, initial["seed"], step=1, key="gan_seed")
        size = st.select_slider("Grid size", GRID_SIZES, initial["size"], format_func=lambda n: f"{n}×{n}",
                                key="gan_size")
        st.form_submit_button("Generate", icon=":material/auto_awesome:", type="primary")
    format_name = ui.format_selector(entry, key="gan_format")
    settings = {"digit": digit, "seed": seed, "size": size}
    st.query_params.update({name: str(value) for name, value in settings.items()})
    extra = entry.get("extra", {})
    if "digit_accuracy_per_digit" in extra and digit != "any":
        share = extra["digit_accuracy_per_digit"][digit]
        st.caption(f"In the held-out evaluation, the Digits classifier read {share:.1%} of "
                   f"{extra['samples_per_digit']:,} generated {digit}s as {digit}.")

with right:
    generator = gan.DigitGenerator(ui.predictor_or_stop("gan", format_name), classifier())
    grid = generator.generate(settings)
    ui.captioned_images(grid.tiles(scale=3), grid.captions(), columns=size)
    verdicts = (" Verdicts: the Digits model (TFLite), its confidence calibrated (see the Digits page's "
                "“How this model works”)." if generator.reader else "")
    st.caption(f"Generating {grid.count} digit{'s' if grid.count > 1 else ''} took **{grid.milliseconds:.2f} ms** "
               f"with {ui.format_label(format_name)}." + verdicts)
    st.download_button("Download the grid (PNG)", grid.grid_png(), file_name=grid.file_name, mime="image/png",
                       icon=":material/download:")

st.subheader("Walk the latent space")
st.write(
    "Two seeds give two latent vectors; the strip shows the digits drawn along the (spherical) path between "
    "them, the requested digit held fixed. Smooth changes in style mean the generator has learned a "
    "continuous space rather than memorising training digits."
)
walk_left, walk_right = st.columns([1, 2], gap="large")
with walk_left:
    walk_digit = st.selectbox("Digit", range(10), index=0 if digit == "any" else digit, key="gan_walk_digit")
    seed_a = st.number_input("From seed", 0, gan.MAX_SEED, seed, key="gan_seed_a")
    seed_b = st.number_input("To seed", 0, gan.MAX_SEED, min(seed + 1, gan.MAX_SEED), key="gan_seed_b")
    steps = st.slider("Steps", 3, 12, 8, key="gan_steps")
with walk_right:
    walk = generator.walk(walk_digit, seed_a, seed_b, steps)
    st.image(walk.picture(scale=3), caption=walk.caption, output_format="PNG")

ui.how_this_model_works(entry)
