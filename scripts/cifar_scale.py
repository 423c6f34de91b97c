"""The largest CIFAR-10 run (ResNet-18 width 1) that fits the time left, for scripts/gpu-check.

    python3 scripts/cifar_scale.py PROBE_REPORT SECONDS_LEFT

Reads the training images/s of a short probe run (shader compilation included, so the estimate
errs long) and prints the `wrong-labels cifar` flags: the article's 2 + 50 epochs on all 50,000
images if they fit, else the most student epochs that do, else fewer training images.
"""

import json
import sys

TRAIN, TEST = 50_000, 10_000
TEACHER_EPOCHS, STUDENT_EPOCHS, CONTROL_EPOCHS = 2, 50, 5
WRONG = 0.375  # the article's teacher gets 18,768 of the 50,000 training images wrong
FORWARD = 3.0  # a forward pass (relabelling, testing) costs about a third of a training step
MARGIN = 0.8  # of the time left


def seconds(train: int, student: int, control: int, speed: float) -> float:
    trained = TEACHER_EPOCHS * train + (student + control) * WRONG * train
    evaluated = train + (TEACHER_EPOCHS + student + control) * TEST
    return (trained + evaluated / FORWARD) / speed


def plan(speed: float, left: float) -> list[str]:
    train = TRAIN
    while train >= 1_000:
        for student in range(STUDENT_EPOCHS, 0, -1):
            control = min(CONTROL_EPOCHS, student)
            if seconds(train, student, control, speed) <= MARGIN * left:
                flags = ["--width", "1", "--teacher-epochs", str(TEACHER_EPOCHS), "--student-epochs", str(student), "--control-epochs", str(control)]
                return flags + ([] if train == TRAIN else ["--train-limit", str(train)])
        train //= 2
    raise SystemExit(f"cifar_scale: {speed:.0f} images/s leaves no CIFAR-10 run in {left:.0f} s")


def main() -> None:
    report = json.load(open(sys.argv[1]))
    speed = min(report["teacher"]["images_per_second"], report["student"]["images_per_second"])
    print(" ".join(plan(speed, float(sys.argv[2]))))


if __name__ == "__main__":
    main()
