"""Loading: the saved model and the data splits. The only package besides evaluate that touches Keras."""
