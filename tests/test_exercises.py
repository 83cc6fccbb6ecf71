"""Every exercise checker accepts the right answer, rejects a wrong one with a hint, and never prints the answer."""

import numpy as np
import pytest
import torch

from mri_helpers import exercises as ex
from mri_helpers.models import build_model

IMAGE = torch.arange(16.0).view(4, 4)  # x[r, c] = 4r + c
SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _said(capsys):
    return capsys.readouterr().out.strip()


@pytest.mark.parametrize("call,right,wrong", [
    (lambda a: ex.check_dropout_scale(0.3, a), 1 / 0.7, 0.7),
    (lambda a: ex.check_parameter_count("cnn3", "fc1", a), 16384 * 512 + 512, 16384 * 512),
    (lambda a: ex.check_parameter_count("cnn0", "conv1", a), 3 * 4 * 9 + 4, 3 * 4 * 9),
    (lambda a: ex.check_receptive_field("cnn2", a), 94, 78),
    (lambda a: ex.check_receptive_field("cnn0", a), 46, 32),
    (lambda a: ex.check_output_shape(build_model("cnn3"), "conv2", 256, a), (64, 128, 128), (64, 256, 256)),
    (lambda a: ex.check_discordant([0, 0, 0, 1], [0, 0, 1, 1], [0, 1, 0, 0], a), (2, 1), (3, 1)),
    (lambda a: ex.check_wilson(498, 655, a), (0.7259, 0.7914), (0.7276, 0.7930)),
])
def test_right_answers_pass_and_wrong_ones_get_a_hint(call, right, wrong, capsys):
    assert call(right) is True and _said(capsys) == "✓ correct"
    assert call(wrong) is False
    said = _said(capsys)
    assert said.startswith("✗ not yet: ") and str(right) not in said
    assert call(None) is False and "set " in _said(capsys)  # the student's stub


def test_hints_recognise_the_common_mistakes(capsys):
    ex.check_parameter_count("cnn3", "fc1", 16384 * 512)
    assert "now add the biases" in _said(capsys)
    ex.check_discordant([0, 0, 0, 1], [0, 0, 1, 1], [0, 1, 0, 0], (1, 2))
    assert "wrong order" in _said(capsys)
    ex.check_wilson(498, 655, (0.7276, 0.7930))  # p ± 1.96 SE
    assert "Wald" in _said(capsys)


def test_twin_count_checker_counts_within_the_threshold(capsys):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (5, 32), dtype=np.uint8)
    test = train[:3].copy()
    test[1, 0] ^= 0b111  # 3 bits from its twin
    test[2] = 255 - test[2]  # far from everything
    assert ex.check_twin_count(test, train, 2, 1) and ex.check_twin_count(test, train, 3, 2)
    assert not ex.check_twin_count(test, train, 3, 3)


def test_strict_mode_turns_a_wrong_answer_into_an_error(monkeypatch):
    monkeypatch.setenv("MRI_EXERCISES_STRICT", "1")
    with pytest.raises(ex.ExerciseError, match="exercise check failed"):
        ex.check_receptive_field("cnn2", 10)
    assert ex.check_receptive_field("cnn2", 94)


def test_receptive_field_of_every_model():
    assert {m: ex.receptive_field(build_model(m)) for m in ("cnn0", "cnn1", "cnn2", "cnn3", "bestnet")} == {
        "cnn0": 46, "cnn1": 46, "cnn2": 94, "cnn3": 94, "bestnet": 134}


def conv_pixel(image, kernel, row, col):
    return (image[row - 1:row + 2, col - 1:col + 2] * kernel).sum()


def pool_window(feature_map, r, c):
    return feature_map[2 * r:2 * r + 2, 2 * c:2 * c + 2].max()


def test_conv_pixel_is_worked_by_hand_and_checked_everywhere(capsys):
    # by hand at (1, 1): rows 0-2, columns 0-2 of x = [[0, 1, 2], [4, 5, 6], [8, 9, 10]] against Sobel's
    # [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]: (2 - 0) + 2 * (6 - 4) + (10 - 8) = 8
    assert float(conv_pixel(IMAGE, SOBEL, 1, 1)) == 8.0
    assert ex.check_conv_pixel(conv_pixel) is True and _said(capsys) == "✓ correct"
    for wrong, hint in ((lambda im, k, r, c: (im[r:r + 3, c:c + 3] * k).sum(), "one pixel off"),
                        (lambda im, k, r, c: im[r - 1:r + 2, c - 1:c + 2] * k, "return one number"),
                        (lambda im, k, r, c: (im[r - 1:r + 2, c - 1:c + 2] @ k).sum(), "@ is a matrix product"),
                        (None, "set `conv_pixel`")):
        assert ex.check_conv_pixel(wrong) is False and hint in _said(capsys)


def test_pool_window_is_checked_on_every_window(capsys):
    assert float(pool_window(IMAGE, 1, 1)) == 15.0  # rows 2-3, columns 2-3: 10, 11, 14, 15
    assert ex.check_pool_window(pool_window) is True and _said(capsys) == "✓ correct"
    for wrong, hint in ((lambda m, r, c: m[2 * r, 2 * c], "keeps the largest of the four"),  # right by luck at times
                        (lambda m, r, c: m[r:r + 2, c:c + 2].max(), "rows 2·r and 2·r+1"),
                        (lambda m, r, c: m[2 * r:2 * r + 2, 2 * c:2 * c + 2].mean(), "average pooling")):
        assert ex.check_pool_window(wrong) is False and hint in _said(capsys)

    def stub(feature_map, r, c):
        raise NotImplementedError("Output (r, c) of a 2x2 max-pool")

    assert ex.check_pool_window(stub) is False and "replace the raise" in _said(capsys)


def test_learn_kernel_checker_runs_the_students_function(capsys):
    def learn_kernel(image, target, steps=300, lr=0.1):
        kernel = torch.zeros(1, 1, 3, 3, requires_grad=True)
        optimizer = torch.optim.Adam([kernel], lr=lr)
        for _ in range(steps):
            loss = torch.nn.functional.mse_loss(torch.nn.functional.conv2d(image, kernel, padding=1), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return kernel.detach()[0, 0]

    def never_steps(image, target, steps=300, lr=0.1):  # forgets optimizer.step(): the kernel stays zero
        return torch.zeros(3, 3)

    def stub(image, target):
        raise NotImplementedError("Learn the kernel")

    assert ex.check_learn_kernel(learn_kernel) is True and _said(capsys) == "✓ correct"
    assert ex.check_learn_kernel(never_steps) is False and "call optimizer.step() after" in _said(capsys)
    assert ex.check_learn_kernel(stub) is False and "replace the raise" in _said(capsys)
    assert ex.check_learn_kernel(lambda i, t: torch.zeros(2, 2)) is False and "9 numbers" in _said(capsys)
    assert ex.check_learn_kernel(lambda i, t: None) is False and "return the learned kernel" in _said(capsys)


def test_review_findings_get_hints_not_tracebacks(capsys):
    """A student review found these crashing or accepted: each now gets a one-line hint."""
    assert not ex.check_receptive_field("cnn3", (94, 94)) and "one number" in _said(capsys)
    assert not ex.check_receptive_field("cnn3", 94.9)
    capsys.readouterr()
    assert not ex.check_parameter_count("cnn0", "conv1", "112") and "not text" in _said(capsys)
    model = build_model("cnn0")
    assert not ex.check_output_shape(model, "conv2", 256, 64) and "three numbers" in _said(capsys)
    assert not ex.check_output_shape(model, "conv2", 256, (1, 4, 128, 128))
    assert "batch dimension" in _said(capsys)


@pytest.mark.parametrize("slip, hint", [
    (lambda image, kernel, r, c: (image[r - 1:r + 2, c - 1:c + 2] * kernel.flip(0, 1)).sum(), "does not flip"),
    (lambda image, kernel, r, c: (image[c - 1:c + 2, r - 1:r + 2] * kernel).sum(), "row and column are swapped"),
    (lambda image, kernel, r, c: (image[r - 1:r + 2, c - 1:c + 2] @ kernel).sum(), "element by element"),
])
def test_conv_pixel_names_common_slips(slip, hint, capsys):
    assert not ex.check_conv_pixel(slip)
    assert hint in _said(capsys)


def test_to_input_wants_a_tensor_and_explains_broadcasting(capsys):
    from mri_helpers.exercises.data import check_to_input

    def numpy_version(image, mean, std):
        return (np.transpose(image, (2, 0, 1)) / 255 - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]

    def no_view(image, mean, std):
        x = torch.from_numpy(image).permute(2, 0, 1).float() / 255
        return (x - torch.tensor(mean)) / torch.tensor(std)

    assert not check_to_input(numpy_version) and "not a NumPy array" in _said(capsys)
    assert not check_to_input(no_view) and "C x 1 x 1" in _said(capsys)


def test_discordant_and_count_in_the_wrong_form_get_hints(capsys):
    y, a, b = np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]), np.array([0, 0, 1, 1])
    right_a, right_b = a == y, b == y
    assert not ex.check_discordant(y, a, b, (right_a & ~right_b, right_b & ~right_a))
    assert "two numbers" in _said(capsys)
    assert not ex.check_discordant(y, a, b, int((right_a & ~right_b).sum())) and "two numbers" in _said(capsys)
    assert ex.check_discordant(y, a, b, (2, 1))
    capsys.readouterr()
    assert not ex.check_parameter_count("cnn0", "conv1", (112,)) and "trailing comma" in _said(capsys)


@pytest.mark.parametrize("answer, hint", [(78, "one layer short"), (46, "one block short")])
def test_receptive_field_names_a_walk_that_stops_early(answer, hint, capsys):
    assert ex.check_receptive_field("cnn3", 94) and "✓" in _said(capsys)
    assert not ex.check_receptive_field("cnn3", answer) and hint in _said(capsys)
