"""Flowers: upload a flower photo (or click a sample); an ImageNet MobileNetV2 fine-tuned on tf_flowers names it."""

import streamlit as st
import ui
from PIL import Image

from showcase.imaging import ACCEPTED_EXTENSIONS
from showcase.tasks import flowers

st.title("Flowers")
st.write(
    "Upload a photo of a **daisy, dandelion, rose, sunflower or tulip** — any size, JPEG, PNG, WebP, BMP or GIF. "
    "The photo is turned upright (EXIF), its centre square is resized to 224×224, and a MobileNetV2 pretrained "
    "on ImageNet and fine-tuned on the tf_flowers photos names it."
)
entry = ui.model_entry_or_stop("flowers")


def uploaded_photo():
    upload = ui.file_uploader("A flower photo", ACCEPTED_EXTENSIONS, key="flowers_upload")
    return None if upload is None else upload.getvalue()


def gallery_photo():
    samples = flowers.sample_photos()
    st.caption("Validation photos the model never trained on (CC BY 2.0, credits in samples/flowers/CREDITS.md). "
               "Click one to classify it.")
    for row_start in range(0, len(samples), 5):
        for column, path in zip(st.columns(5), samples[row_start:row_start + 5]):
            with column:
                label = flowers.sample_label(path)
                st.image(Image.open(path), caption=f"a validation photo of {label}", width="stretch")
                if st.button(label, key=f"flowers_sample_{path.stem}", width="stretch"):
                    st.session_state.flowers_sample = path.name
    return flowers.sample_photo_bytes(st.session_state.get("flowers_sample"))


left, right = st.columns(2, gap="large")
with left:
    readers = {"Upload a photo": uploaded_photo, "Sample gallery": gallery_photo}
    source, prepared, problem = ui.image_input("flowers_input", readers, flowers.prepare_photo)
    if prepared is not None:
        image, view = prepared
        width, height = image.info.get("original_size", image.size)
        st.image(flowers.display_copy(image), caption=f"Your photo ({width}×{height})")

with right:
    format_name = ui.format_selector(entry, key="flowers_format")
    if problem or prepared is None:
        ui.no_result_yet(problem, source == "Upload a photo", "Upload a flower photo or click a sample in the gallery "
                         "to see the prediction.", "Upload a flower photo or click a sample to see the prediction.",
                         icon=":material/local_florist:")
    else:
        result = flowers.FlowerClassifier(ui.predictor_or_stop("flowers", format_name), entry).classify_prepared(view)
        if result.state == flowers.OUT_OF_DISTRIBUTION:
            ui.out_of_distribution(result.reason, "The model only knows daisies, dandelions, roses, sunflowers and "
                                   "tulips, and this photo is further from all of them than "
                                   f"{entry['ood']['figures']['all']['coverage']:.0%} of the validation flower "
                                   "photos are, so it gives no flower name.")
        elif result.sure:
            st.metric("Prediction", result.label, f"{result.confidence:.1%} confident", delta_color="off",
                      delta_arrow="off")
        else:
            st.warning(
                f"**Not sure — is this one of the five flowers?** The best guess is *{result.label}* at only "
                f"{result.confidence:.1%}, below the {flowers.threshold(entry):.0%} this model needs to be right "
                f"{entry['extra']['not_sure']['accuracy_above']:.0%} of the time on validation photos.",
                icon=":material/help:",
            )
        if result.in_distribution:
            ui.probability_chart(entry["labels"], result.probabilities)
        ui.what_the_model_saw(result.picture(), "What the model saw (224×224)", result.milliseconds, format_name)

st.subheader("How well it does on held-out photos")
metrics = entry["metrics"]
st.write(
    f"Validation accuracy **{metrics['values']['accuracy']:.1%}** on {metrics['n']} photos the model never trained "
    f"on ({metrics['split']}). The \"not sure\" threshold ({flowers.threshold(entry):.0%}) keeps "
    f"{entry['extra']['not_sure']['coverage']:.0%} of those predictions."
)
matrix_column, table_column = st.columns([3, 2], gap="large")
matrix_column.altair_chart(flowers.confusion_chart(entry), width="stretch")
with table_column:
    st.dataframe(flowers.per_class_frame(entry), hide_index=True,
                 column_config={"precision": st.column_config.NumberColumn(format="%.3f"),
                                "recall": st.column_config.NumberColumn(format="%.3f")})

ui.how_this_model_works(entry)
