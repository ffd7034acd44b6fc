from otahub.cli.main import main

main()
