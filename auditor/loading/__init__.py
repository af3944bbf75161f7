"""Loading: the saved model and the data splits. With evaluate, the only code that touches Keras."""
