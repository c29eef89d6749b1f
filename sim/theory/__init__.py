"""Theory: closed-form and Markov results, and the validation of the model against them."""
