"""BAR loader (on fixture folders), ResNet-18's pretrained handling, and the real-world tables' cells."""

from __future__ import annotations

import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image

from debiaskit.core.models import PretrainedWeightsUnavailable, ResNetWithFeatures, resnet18
from debiaskit.core.splits import BiasedBenchmark, BiasedSplit
from debiaskit.data import image_folder
from debiaskit.data.bar import ACTIONS, action_of, bar, find_bar, load_bar_split
from debiaskit.data.image_folder import decode_image
from debiaskit.data.sources import DataUnavailableError
from debiaskit.experiments import realworld
from debiaskit.experiments.benchmarks import resolve_pretrained
from debiaskit.experiments.runs import model_factory


def _write_bar(root, per_action: dict[str, tuple[int, int]], size=(40, 30)) -> None:
    """A BAR layout: ``per_action[action] = (n_train, n_test)`` JPEGs, each a flat colour of its class."""
    for split, k in (("train", 0), ("test", 1)):
        folder = root / "BAR" / split
        folder.mkdir(parents=True, exist_ok=True)
        for c, action in enumerate(ACTIONS):
            for i in range(per_action.get(action, (2, 1))[k]):
                colour = (40 * c, 255 - 40 * c, (97 * i) % 256)
                Image.new("RGB", size, colour).save(folder / f"{action}_{i}.jpg", quality=95)


@pytest.fixture
def bar_root(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path / "cache"))
    _write_bar(tmp_path / "data", {a: (5, 2) for a in ACTIONS})
    return tmp_path / "data"


def test_action_names_follow_table_10_and_pole_vaulting_has_a_space(tmp_path):
    assert action_of(tmp_path / "pole vaulting_12.jpg") == 5
    assert action_of(tmp_path / "climbing_0.jpg") == 0
    with pytest.raises(DataUnavailableError, match="is not named"):
        action_of(tmp_path / "skiing_3.jpg")


def test_missing_bar_says_what_to_download_and_where(tmp_path):
    with pytest.raises(DataUnavailableError) as err:
        find_bar(tmp_path)
    message = str(err.value)
    assert "github.com/alinlab/BAR" in message and str(tmp_path / "BAR") in message and "DEBIASKIT_DATA" in message


def test_decode_resizes_the_shorter_side_and_centre_crops(tmp_path):
    img = np.zeros((30, 60, 3), dtype=np.uint8)
    img[:, 15:45] = 200  # the centre half is bright: after a centre crop the whole image is
    Image.fromarray(img).save(tmp_path / "x.png")
    out = decode_image(tmp_path / "x.png", 16)
    assert out.shape == (3, 16, 16) and out.dtype == torch.uint8
    assert int(out[:, :, 2:-2].min()) > 150


def test_decode_is_torchvision_s_resize_then_centre_crop_and_labels_are_optional(tmp_path, monkeypatch):
    from torchvision.transforms import v2

    monkeypatch.setenv("DEBIASKIT_CACHE", str(tmp_path / "cache"))
    rgb = np.random.default_rng(0).integers(0, 256, (23, 37, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "x.png")
    with Image.open(tmp_path / "x.png") as im:
        reference = v2.Compose([v2.Resize(16), v2.CenterCrop(16), v2.PILToTensor()])(im.convert("RGB"))
    assert torch.equal(decode_image(tmp_path / "x.png", 16), reference)
    x, y = image_folder.decode_cached("x", [tmp_path / "x.png"], 16, "hint")
    assert y is None and torch.equal(x[0], reference)
    assert image_folder.decode_cached("x", [tmp_path / "x.png"], 16, "hint")[1] is None  # read back from the cache


def test_bar_benchmark_splits_labels_and_bias_marks(bar_root):
    bench = bar(seed=0, root=bar_root, image_size=8)
    assert bench.num_classes == 6 and len(bench.train) + len(bench.val) == 30 and len(bench.val) == 3
    assert len(bench.test) == 12 and bench.train.x.dtype == torch.uint8 and bench.train.x.shape[1:] == (3, 8, 8)
    assert bool(bench.train.major.all()) and not bool(bench.test.major.any())  # test = bias-conflicting
    assert sorted(bench.test.y.tolist()) == sorted([c for c in range(6) for _ in range(2)])
    # labels match the images: the red channel encodes the class
    red = bench.test.x[:, 0].float().mean((1, 2))
    assert torch.allclose(red, 40 * bench.test.y.float(), atol=6)
    assert bar(seed=0, root=bar_root, image_size=8).val.y.tolist() == bench.val.y.tolist()


def test_bar_images_are_decoded_once_and_a_corrupt_cache_is_rebuilt(bar_root, monkeypatch, tmp_path):
    x, y = load_bar_split("train", bar_root, 8)
    calls = []
    monkeypatch.setattr(image_folder, "decode_image", lambda *a: calls.append(a) or torch.zeros(3, 8, 8, dtype=torch.uint8))
    x2, y2 = load_bar_split("train", bar_root, 8)
    assert calls == [] and torch.equal(x, x2) and torch.equal(y, y2)
    (cache,) = (tmp_path / "cache" / "data").glob("bar-train-8-*.pt")
    cache.write_bytes(b"truncated")
    with pytest.warns(UserWarning, match="unreadable image cache"):
        load_bar_split("train", bar_root, 8)
    assert len(calls) == 30


def test_a_corrupted_image_names_the_file(bar_root, tmp_path):
    bad = bar_root / "BAR" / "test" / "diving_0.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(DataUnavailableError, match="diving_0.jpg"):
        load_bar_split("test", bar_root, 8)


def test_resnet18_without_weights_offline_gives_a_clear_error(monkeypatch, tmp_path):
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    import torchvision.models._api

    # torchvision imported the function by name: patch it where the weights are loaded from
    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", offline)
    try:
        with pytest.raises(PretrainedWeightsUnavailable, match="pretrained=False"):
            resnet18(4, pretrained=True)
        assert resolve_pretrained("auto") is False
    finally:
        torch.hub.set_dir(previous)
    assert resolve_pretrained(True) is True
    with pytest.raises(ValueError, match="'auto'"):
        resolve_pretrained("yes")


def test_pretrained_resnet_normalises_its_input_as_the_weights_expect(monkeypatch):
    net = ResNetWithFeatures(3)
    net.pretrained = True  # the normalisation alone, without downloading weights
    net.register_buffer("mean", torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1))
    net.register_buffer("std", torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1))
    x = torch.rand(2, 3, 16, 16)
    plain = ResNetWithFeatures(3)
    plain.load_state_dict({k: v for k, v in net.state_dict().items() if k not in ("mean", "std")})
    net.eval(), plain.eval()
    assert torch.allclose(net(x), plain((x - 0.5) / 0.25), atol=1e-6)


def _bench(dataset: str, network: dict | None) -> BiasedBenchmark:
    x = torch.rand(12, 3, 16, 16)
    y = torch.arange(12) % 3
    split = BiasedSplit(x, y, y.clone())
    meta = {"dataset": dataset} | ({"network": network} if network else {})
    return BiasedBenchmark(dataset, split, split, split, 3, meta)


def test_model_factory_builds_the_network_a_benchmark_names():
    assert isinstance(model_factory(_bench("bar", {"arch": "resnet18", "pretrained": False}))(), ResNetWithFeatures)
    assert not isinstance(model_factory(_bench("colored_mnist", None))(), ResNetWithFeatures)
    with pytest.raises(ValueError, match="unknown network"):
        model_factory(_bench("bar", {"arch": "vgg"}))()
    a = model_factory(_bench("bar", {"arch": "resnet18", "pretrained": False}), seed=3)()
    b = model_factory(_bench("bar", {"arch": "resnet18", "pretrained": False}), seed=3)()
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


class _Fixed(torch.nn.Module):
    """Predicts the label stored in each image's first pixel."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))  # predict() reads the device off a parameter
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        labels = x[:, 0, 0, 0].round().long()
        return torch.nn.functional.one_hot(labels, 3).float()


def test_evaluation_row_averages_as_each_table_does():
    y = torch.tensor([0, 0, 1, 1, 2, 2, 2, 2])
    pred = torch.tensor([0, 1, 1, 1, 2, 0, 0, 0])  # class accuracies 50, 100, 25; overall 50
    x = pred.float().view(-1, 1, 1, 1).expand(-1, 3, 2, 2).contiguous()
    major = torch.tensor([True, True, True, True, True, True, False, False])  # majority 4/6 right, minority 0/2
    split = BiasedSplit(x, y, torch.where(major, y, (y + 1) % 3))
    for dataset, expected in (("bar", (50 + 100 + 25) / 3), ("celeba", (200 / 3 + 0) / 2), ("imagenet9", 50.0)):
        model = _Fixed()
        row = realworld.evaluation_row(model, BiasedBenchmark(dataset, split, split, split, 3, {"dataset": dataset}))
        assert model.calls == 2, "one pass over the validation split, one over the test split"
        assert row["avg"] == pytest.approx(expected)
        assert [row[f"class{c}"] for c in range(3)] == pytest.approx([50, 100, 25])
        assert row["major"] == pytest.approx(200 / 3) and row["minor"] == pytest.approx(0)


def test_real_world_benchmark_refuses_unknown_names():
    with pytest.raises(ValueError, match="choose one of"):
        realworld.real_world_benchmark("cifar")
    with pytest.raises(ValueError, match="source"):
        realworld.real_world_benchmark("celeba", source="web")
    with pytest.raises(ValueError, match="BAR has no stand-in"):
        realworld.real_world_benchmark("bar", source="standin")


def test_real_world_benchmark_records_the_network(bar_root):
    bench = realworld.real_world_benchmark("bar", root=bar_root, image_size=8, pretrained=False)
    assert bench.meta["network"] == {"arch": "resnet18", "pretrained": False} and bench.meta["source"] == "real"


def test_variant_rows_take_the_method_s_options_and_share_pgd_s_gce_model():
    options = {"pgd": {"preset": "published"}, "lff": {"ema": 0.7}}
    assert realworld.method_of("lff", options) == ("lff", {"ema": 0.7})
    assert realworld.method_of("pgd", options) == ("pgd", {"preset": "published", "share_biased": True})
    method, opts = realworld.method_of("pgd_scratch", options)
    assert method == "pgd" and opts == {"preset": "published", "init_from_biased": False, "share_biased": True}
    assert realworld.method_of("pgd_scratch", {**options, "pgd_scratch": {"q": 0.5}})[1]["q"] == 0.5
    assert realworld.row_name("pgd_scratch") != realworld.row_name("pgd")


def test_build_benchmark_draws_the_cartoon_standin_only_for_cartoon():
    from debiaskit.experiments.benchmarks import build_benchmark

    bench = build_benchmark("cartoon", 0.95, seed=0, n_train=4000, source="standin")
    assert bench.meta["source"] == "standin" and bench.meta["n_avatars"] == 4000
    with pytest.raises(ValueError, match="no stand-in"):
        build_benchmark("colored_mnist", 0.99, source="standin")


def test_pretrained_and_scratch_resnets_differ_in_repr_but_share_state_dict_keys():
    """The model caches key PGD's GCE model by repr(model_fn()): the two kinds must not share an entry, and a
    state_dict of one kind loads into the other (the normalisation constants are not state)."""
    scratch = ResNetWithFeatures(3)
    fake_pretrained = ResNetWithFeatures(3)
    fake_pretrained.pretrained = True  # what pretrained=True sets, without downloading weights
    assert repr(scratch) != repr(fake_pretrained) and "pretrained=False" in repr(scratch)
    assert set(scratch.state_dict()) == set(fake_pretrained.state_dict())
    assert "mean" not in scratch.state_dict()
