from IPython.display import HTML, SVG, Javascript, display

# Outputs that would run in the student's feedback page, or in the instructor's formgrader.
display(HTML("<script>document.title = 'ESCAPED: script ran'</script><img src=x onerror=\"alert('xss')\">"))
display(Javascript("document.title = 'ESCAPED: javascript ran'"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>alert("svg")</script></svg>'))
