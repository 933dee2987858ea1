hog = [bytearray(2**30) for _ in range(64)]
