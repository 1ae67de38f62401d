"""The GAN's networks and its train_step on a tiny batch (no data files, no committed artifacts needed)."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import train_gan  # noqa: E402

from showcase.tasks import gan


@pytest.fixture(scope="module")
def networks():
    return train_gan.build_generator(), train_gan.build_discriminator()


def test_the_generator_takes_one_latent_and_digit_tensor_and_draws_28x28_images_in_the_unit_range(networks):
    generator, _ = networks
    assert generator.input_shape == (None, gan.LATENT_DIM + gan.NUM_CLASSES)
    inputs = gan.generator_input(gan.latent_vectors(0, 4), [0, 1, 2, 3])
    images = np.asarray(generator(inputs, training=False))
    assert images.shape == (4, 28, 28, 1) and images.min() >= 0 and images.max() <= 1


def test_the_discriminator_scores_and_classifies(networks):
    _, discriminator = networks
    score, logits = discriminator([np.zeros((3, 28, 28, 1), np.float32), gan.one_hot([1, 2, 3])])
    assert tuple(score.shape) == (3, 1) and tuple(logits.shape) == (3, 10)


def test_one_train_step_updates_both_networks_with_finite_losses():
    import keras
    import tensorflow as tf

    generator, discriminator = train_gan.build_generator(), train_gan.build_discriminator()
    gan = train_gan.conditional_gan_class()(generator, discriminator)
    gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    before = [np.array(weight) for weight in generator.trainable_weights + discriminator.trainable_weights]
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(16, 28, 28, 1)).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((images, rng.integers(0, 10, 16).astype(np.int32))).batch(8)
    history = gan.fit(dataset, epochs=1, verbose=0).history
    assert all(np.isfinite(history[name][-1]) for name in ("d_loss", "g_loss"))
    after = generator.trainable_weights + discriminator.trainable_weights
    assert all(not np.allclose(old, np.array(new)) for old, new in zip(before, after))
