"""Static checks of the Kubernetes manifests in deploy/k8s against the code they deploy.

``python -m deploy.k8s_check [--out DIR]`` renders every overlay with
``kubectl kustomize``, validates each object against the pinned Kubernetes
version's schemas (kubernetes-validate, strict), runs the policy checks and
prints one line per problem; it exits 1 if there is any.
"""
