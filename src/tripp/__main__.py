from tripp.cli import main

main()
