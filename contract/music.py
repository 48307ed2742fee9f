"""The fixed rules behind the derived fields: key names, the Camelot wheel, harmonic mixing, moods.

Each rule is fixed, not relative to the catalogue, so a track's derived fields never change when
other tracks or genres are added. The pipeline derives the curated columns with them
(pipeline/derive.py), the service filters with them (`harmonic_to`), and the explorer reads
them from `GET /api/v1/fields`: nothing else writes them down.

- key_name: the pitch class as text, C, C#, ... B (null when no key was detected, key -1);
- camelot: the Camelot wheel code. The wheel is the circle of fifths numbered so that C major is
  8B; each step of a fifth up adds 1 (G major 9B, F major 7B). A minor key has the number of its
  relative major (three semitones up) and the letter A, so A minor is 8A;
- mood: the quadrant of Russell's circumplex of affect (valence x arousal), with Spotify's
  energy as arousal, both split at 0.5 on their absolute 0-1 scales.
"""

from __future__ import annotations

KEY_NAMES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Camelot wheel codes in wheel order: 1A, 1B, 2A, ... 12B (A = minor, B = major).
CAMELOT_CODES: tuple[str, ...] = tuple(f"{n}{letter}" for n in range(1, 13) for letter in "AB")
CAMELOT_PATTERN = r"(?:[1-9]|1[0-2])[AB]"
# Quadrants of the valence-arousal plane (energy as arousal), split at MOOD_SPLIT on both axes.
MOODS: tuple[str, ...] = ("happy", "tense", "sad", "calm")
MOOD_SPLIT = 0.5


def camelot_number(pitch_class: int, major: bool) -> int:
    """The Camelot wheel number (1-12) of a key: C major and A minor are 8."""
    tonic = pitch_class if major else (pitch_class + 3) % 12  # a minor key's relative major
    return (7 * tonic + 7) % 12 + 1  # 7 semitones = a fifth = one step round the wheel


def camelot_code(pitch_class: int, major: bool) -> str:
    """The Camelot code of a key, e.g. 8B for C major, 8A for A minor."""
    return f"{camelot_number(pitch_class, major)}{'B' if major else 'A'}"


def harmonic_matches(code: str) -> tuple[str, ...]:
    """The Camelot codes that mix harmonically with `code`, in wheel order: the code itself,
    one step either way round the wheel with the same letter, and the same number with the
    other letter (its relative major or minor)."""
    number, letter = int(code[:-1]), code[-1]
    other = "B" if letter == "A" else "A"
    near = {f"{number}{letter}", f"{number % 12 + 1}{letter}", f"{(number - 2) % 12 + 1}{letter}"}
    return tuple(c for c in CAMELOT_CODES if c in near | {f"{number}{other}"})


def mood_of(valence: float, energy: float) -> str:
    """The mood quadrant of one track: happy, tense, sad or calm."""
    happy, tense, sad, calm = MOODS
    if energy >= MOOD_SPLIT:
        return happy if valence >= MOOD_SPLIT else tense
    return calm if valence >= MOOD_SPLIT else sad
