from pathlib import Path

for target in ATTACK_TARGETS["readable"]:
    try:
        print("LEAKED", len(Path(target).read_bytes()), "bytes of", target)
    except OSError as error:
        print("read blocked:", target, type(error).__name__)
