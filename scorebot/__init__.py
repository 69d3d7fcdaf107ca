"""scorebot: Modified Progressive Stack and Oops/Ouch for Matrix meetings."""
