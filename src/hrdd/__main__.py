from hrdd.cli import app

app(prog_name="hrdd")
