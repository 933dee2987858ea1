for target in ATTACK_TARGETS["writable"]:
    try:
        with open(target, "ab") as file:
            file.write(b"100 points please")
        print("wrote to", target, "(in the sandbox's own memory, if the path is the sandbox's)")
    except OSError as error:
        print("write blocked:", target, type(error).__name__)
