"""showcase.tasks.gan: seeds, conditioning, interpolation, grids and the Fréchet distance (no model needed)."""

import io

import numpy as np
import pytest
from PIL import Image

from showcase.tasks import gan


def test_a_seed_fixes_the_latents_and_a_bigger_grid_starts_with_the_smaller_one():
    small, big = gan.latent_vectors(42, 4), gan.latent_vectors(42, 36)
    assert small.shape == (4, gan.LATENT_DIM) and small.dtype == np.float32
    np.testing.assert_array_equal(gan.latent_vectors(42, 4), small)
    np.testing.assert_array_equal(big[:4], small)
    assert not np.allclose(gan.latent_vectors(43, 4), small)


def test_random_digits_are_seeded_and_cover_every_digit():
    digits = gan.random_digits(5, 1000)
    np.testing.assert_array_equal(digits, gan.random_digits(5, 1000))
    assert set(digits.tolist()) == set(range(10))
    assert not np.array_equal(gan.random_digits(6, 1000), digits)


@pytest.mark.parametrize("seed", [-1, 2**31, 1.5, "7", True])
def test_bad_seeds_are_refused_with_a_clear_message(seed):
    with pytest.raises(ValueError, match="seed must be a whole number"):
        gan.latent_vectors(seed, 1)


def test_generator_input_is_the_latent_followed_by_the_one_hot_digit():
    latents = gan.latent_vectors(1, 3)
    batch = gan.generator_input(latents, [0, 7, 9])
    assert batch.shape == (3, gan.LATENT_DIM + 10) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch[:, : gan.LATENT_DIM], latents)
    np.testing.assert_array_equal(batch[:, gan.LATENT_DIM :].argmax(1), [0, 7, 9])
    assert batch[:, gan.LATENT_DIM :].sum() == 3
    np.testing.assert_array_equal(gan.generator_input(latents, 4)[:, gan.LATENT_DIM + 4], 1)


@pytest.mark.parametrize("digits", [[10], [-1], [1.0], [[1]]])
def test_bad_digits_are_refused(digits):
    with pytest.raises(ValueError, match="[Dd]igits"):
        gan.one_hot(np.array(digits))


def test_generator_input_needs_one_digit_per_latent():
    with pytest.raises(ValueError, match="3 latent vectors but 2 digits"):
        gan.generator_input(gan.latent_vectors(1, 3), [1, 2])


@pytest.mark.parametrize("spherical", [True, False])
def test_interpolation_runs_from_one_end_to_the_other(spherical):
    start, end = gan.latent_vectors(1, 2)
    path = gan.interpolate(start, end, 9, spherical=spherical)
    assert path.shape == (9, gan.LATENT_DIM)
    np.testing.assert_allclose(path[0], start, atol=1e-6)
    np.testing.assert_allclose(path[-1], end, atol=1e-6)
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    assert steps.max() < 1.5 * steps.min()  # Even steps along the path.


def test_spherical_interpolation_keeps_latents_at_a_typical_length():
    start, end = gan.latent_vectors(3, 2)
    middle_linear = gan.interpolate(start, end, 3, spherical=False)[1]
    middle_spherical = gan.interpolate(start, end, 3)[1]
    typical = np.sqrt(gan.LATENT_DIM)
    assert abs(np.linalg.norm(middle_spherical) - typical) < abs(np.linalg.norm(middle_linear) - typical)


def test_interpolation_needs_two_steps():
    with pytest.raises(ValueError, match="at least 2 steps"):
        gan.interpolate(np.ones(4), np.zeros(4), 1)


def test_image_grid_tiles_and_png_round_trips():
    images = np.zeros((5, 28, 28, 1), dtype=np.float32)
    images[3, 10, 10] = 1.0
    grid = gan.image_grid(images, columns=3, scale=2, padding=2)
    assert grid.shape == (2 * (56 + 2) + 2, 3 * (56 + 2) + 2) and grid.dtype == np.uint8
    top, left = 2 + 58, 2  # Image 3 is the first of the second row.
    assert grid[top + 20, left + 20] == 255 and grid[top + 21, left + 21] == 255
    decoded = np.asarray(Image.open(io.BytesIO(gan.png_bytes(grid))))
    np.testing.assert_array_equal(decoded, grid)


def test_to_images_refuses_other_shapes():
    with pytest.raises(ValueError, match="28, 28"):
        gan.to_images(np.zeros((2, 32, 32, 1)))


def test_frechet_distance_of_a_set_with_itself_is_zero():
    features = np.random.default_rng(0).normal(size=(500, 16))
    assert gan.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    # For diagonal covariances: |μa−μb|² + Σ (σa − σb)².
    mean_a, mean_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    sigma_a, sigma_b = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((sigma_a - sigma_b) ** 2)
    distance = gan.frechet_distance_from_statistics(mean_a, np.diag(sigma_a**2), mean_b, np.diag(sigma_b**2))
    assert distance == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_is_symmetric_and_grows_with_the_shift():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(2000, 8)) @ rng.normal(size=(8, 8))
    other = rng.normal(size=(2000, 8)) @ rng.normal(size=(8, 8))
    assert gan.frechet_distance(base, other) == pytest.approx(gan.frechet_distance(other, base), rel=1e-6)
    distances = [gan.frechet_distance(base, base + shift) for shift in (0.5, 1.0, 2.0)]
    assert distances == sorted(distances)
    assert distances[1] == pytest.approx(8 * 1.0**2, rel=1e-6)  # A pure shift of 1 in 8 dimensions.


def test_frechet_distance_refuses_mismatched_features():
    with pytest.raises(ValueError):
        gan.frechet_distance(np.zeros((10, 3)), np.zeros((10, 4)))
    with pytest.raises(ValueError, match="n > 1"):
        gan.frechet_distance(np.zeros((1, 3)), np.zeros((10, 3)))


# ## Settings from a shared address


@pytest.mark.parametrize("query, expected", [
    ({"digit": "7", "seed": "2024", "size": "3"}, {"digit": 7, "seed": 2024, "size": 3}),
    ({"digit": "any", "seed": "0", "size": "1"}, {"digit": "any", "seed": 0, "size": 1}),
    ({"seed": str(gan.MAX_SEED)}, {"digit": "any", "seed": gan.MAX_SEED, "size": 4}),
    ({}, gan.DEFAULT_SETTINGS),
])
def test_a_shared_address_gives_its_settings(query, expected):
    assert gan.settings_from_query(query) == (expected, [])


@pytest.mark.parametrize("name, value", [
    ("digit", "²"), ("seed", "²"), ("size", "²"), ("digit", "١"), ("seed", "1" + "0" * 5000), ("seed", "-4"),
    ("seed", str(gan.MAX_SEED + 1)), ("seed", " 42"), ("seed", "42\n"), ("seed", "4_2"), ("seed", "0x2a"),
    ("size", "7"), ("size", "0"), ("digit", "10"), ("digit", "ANY"), ("digit", ""), ("seed", "1e3"),
])
def test_a_bad_address_parameter_is_ignored_with_a_reason(name, value):
    settings, problems = gan.settings_from_query({name: value})
    assert settings == gan.DEFAULT_SETTINGS
    assert len(problems) == 1 and problems[0].startswith(name) and "expected" in problems[0]
    assert len(problems[0]) < 120


# ## The serving class


class FakeGenerator:
    """Draws each sample as a 28×28 field whose brightness is its digit / 10 (the one-hot code's position)."""

    format_name = "fake"

    def predict(self, batch):
        digits = batch[:, gan.LATENT_DIM:].argmax(1)
        return np.broadcast_to((digits / 10)[:, None, None, None], (len(batch), 28, 28, 1)).astype(np.float32)


class FakeReader:
    """Reads the digit back from the brightness, 90% sure."""

    def predict(self, images):
        digits = np.round(images[:, 0, 0, 0] * 10).astype(int)
        probabilities = np.full((len(images), 10), 0.1 / 9, dtype=np.float32)
        probabilities[np.arange(len(images)), digits] = 0.9
        return probabilities


def test_a_generated_grid_holds_its_images_verdicts_and_png():
    grid = gan.DigitGenerator(FakeGenerator(), FakeReader()).generate({"digit": 7, "seed": 5, "size": 3})
    assert grid.count == 9 and grid.images.shape == (9, 28, 28) and grid.milliseconds >= 0
    np.testing.assert_array_equal(grid.digits, np.full(9, 7))
    assert grid.captions() == ["✓ reads 7 · 90%"] * 9
    assert all(tile.shape == (84, 84) and tile.dtype == np.uint8 for tile in grid.tiles(scale=3))
    assert grid.file_name == "gan_digit-7_seed-5_3x3.png"
    picture = np.asarray(Image.open(io.BytesIO(grid.grid_png())))
    np.testing.assert_array_equal(picture, gan.image_grid(grid.images, 3, scale=4))


def test_any_digit_lets_the_seed_choose_and_no_reader_leaves_the_captions_empty():
    grid = gan.DigitGenerator(FakeGenerator()).generate({"digit": "any", "seed": 11, "size": 4})
    np.testing.assert_array_equal(grid.digits, gan.random_digits(11, 16))
    assert grid.read_as is None and grid.captions() == [None] * 16


def test_a_wrong_reading_is_marked():
    assert gan.verdict_caption(3, np.eye(10)[8] * 0.6) == "✗ reads 8 · 60%"
    assert gan.verdict_caption(3, None) is None


def test_a_walk_runs_between_two_seeds_and_says_what_it_reads():
    generator = gan.DigitGenerator(FakeGenerator(), FakeReader())
    walk = generator.walk(4, seed_a=10, seed_b=20, steps=5)
    assert walk.images.shape == (5, 28, 28) and walk.read_as.tolist() == [4] * 5
    assert walk.caption == "Seed 10 → seed 20, digit 4. The Digits classifier reads: 4 4 4 4 4."
    assert walk.picture(scale=3).shape == (3 * 28 + 4, 5 * (3 * 28 + 2) + 2)
    assert gan.DigitGenerator(FakeGenerator()).walk(4, 10, 20, 5).caption == "Seed 10 → seed 20, digit 4."
